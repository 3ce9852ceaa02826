"""Vocabulary: the two-way map between tokens and integer ids.

Ordering matches torchtext's `build_vocab_from_iterator`: specials first, then tokens by
frequency (descending), ties broken alphabetically. As in torchtext's legacy `Field.build_vocab`,
`max_size` does not count the specials.

>>> vocab = Vocab.build([["a", "cat"], ["a", "dog"]], min_freq=1)
>>> vocab.itos
['<unk>', '<pad>', '<sos>', '<eos>', 'a', 'cat', 'dog']
>>> vocab["a"], vocab["zebra"]
(4, 0)
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from .config import SPECIALS, UNK
from .files import write_atomically

FORMAT = "seq2seq_lib.vocab/1"


def is_id_list(ids: object) -> bool:
    """True for one sentence's token ids: a list, tuple or 1-D tensor of integers (not a string, not one id).

    >>> is_id_list([2, 5, 3]), is_id_list("2 5 3"), is_id_list(["ein", "hund"]), is_id_list(7)
    (True, False, False, False)
    """
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable) or getattr(ids, "ndim", 1) == 0:
        return False
    return all(isinstance(i, int) or getattr(i, "ndim", 1) == 0 for i in ids)  # ndim 0: a tensor's element


class Vocab:
    """Tokens <-> ids; unknown tokens map to `<unk>` instead of raising KeyError."""

    def __init__(self, itos: Sequence[str], unk_token: str = UNK, freqs: Counter | None = None):
        itos = list(itos)
        if not all(isinstance(token, str) for token in itos):
            raise TypeError("Every vocabulary entry must be a string.")
        if len(set(itos)) != len(itos):
            dupes = sorted({t for t in itos if itos.count(t) > 1})[:5]
            raise ValueError(f"Vocabulary entries must be unique; repeated: {dupes}.")
        if unk_token not in itos:
            raise ValueError(f"The unknown token {unk_token!r} must be in the vocabulary so that "
                             "unseen words have an id; add it to the specials.")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {token: index for index, token in enumerate(itos)}
        self.unk_token = unk_token
        self.unk_index = self.stoi[unk_token]
        self.freqs: Counter = freqs if freqs is not None else Counter()

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None,
              specials: Sequence[str] = SPECIALS) -> "Vocab":
        """Count tokens and keep those seen at least `min_freq` times (at most `max_size` of them)."""
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an integer >= 1, got {min_freq!r}; "
                             "use 1 to keep every token that appears.")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0):
            raise ValueError(f"max_size must be None or an integer >= 0, got {max_size!r}.")
        if isinstance(token_lists, (str, bytes)):
            raise TypeError("Vocab.build takes a list of token lists, e.g. [['a', 'dog'], ...], "
                            "not a single string; tokenize first.")
        counts: Counter = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError(f"Vocab.build got the string {tokens[:30]!r} where a list of tokens "
                                "was expected; tokenize each sentence first.")
            counts.update(tokens)
        ranked = sorted((t for t in counts if t not in specials), key=lambda t: (-counts[t], t))
        kept = [token for token in ranked if counts[token] >= min_freq]
        if max_size is not None:
            kept = kept[:max_size]
        unk = specials[0] if specials else UNK
        return cls(list(specials) + kept, unk_token=unk, freqs=counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __getitem__(self, token: str) -> int:
        if not isinstance(token, str):  # vocab[5] would otherwise be the <unk> id, silently
            raise TypeError(f"vocab[...] takes a token (a string) and gives its id, got {token!r}; for the token "
                            f"of an id use vocab.itos[id] (or lookup_tokens for many).")
        return self.stoi.get(token, self.unk_index)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos and self.unk_token == other.unk_token

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[:6]})"

    def lookup_indices(self, tokens: Sequence[str]) -> list[int]:
        """Ids of tokens; unknown tokens become the `<unk>` id."""
        if isinstance(tokens, str):
            raise TypeError("lookup_indices takes a list of tokens, not a string; "
                            "use vocab[token] for one token.")
        ids = [self.stoi.get(token, self.unk_index) if isinstance(token, str) else None for token in tokens]
        if None in ids:
            raise TypeError(f"lookup_indices takes a flat list of tokens (strings), got {tokens[ids.index(None)]!r} "
                            "among them; for a list of sentences, look each one up in turn.")
        return ids

    def lookup_tokens(self, indices: Iterable[int]) -> list[str]:
        """Tokens of ids; an id outside the vocabulary raises IndexError naming it."""
        if isinstance(indices, str):
            raise TypeError(f"lookup_tokens takes a list of ids, not the string {indices!r}.")
        tokens = []
        for index in indices:
            if isinstance(index, (str, float)) or getattr(index, "is_floating_point", lambda: False)():
                raise TypeError(f"lookup_tokens takes integer ids, got {index!r}.")
            index = int(index)
            if not 0 <= index < len(self.itos):
                raise IndexError(f"Id {index} is outside this vocabulary of {len(self.itos)} entries; "
                                 "was it produced with another vocabulary?")
            tokens.append(self.itos[index])
        return tokens

    def to_dict(self) -> dict:
        """A JSON-ready description (used by `save` and by checkpoints)."""
        return {"format": FORMAT, "unk_token": self.unk_token, "itos": list(self.itos)}

    @classmethod
    def from_dict(cls, data: object) -> "Vocab":
        """Rebuild a Vocab from `to_dict()` output, checking its shape first."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("itos"), list):
            raise ValueError(f"Not a saved seq2seq_lib vocabulary (expected a JSON object with "
                             f"format={FORMAT!r} and an 'itos' list); re-create it with Vocab.save.")
        return cls(data["itos"], unk_token=data.get("unk_token", UNK))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON atomically (temp file + rename)."""
        data = json.dumps(self.to_dict(), ensure_ascii=False).encode("utf-8")
        return write_atomically(path, lambda handle: handle.write(data))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """Read a vocabulary written by `save`; a missing or malformed file fails with a clear message."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No vocabulary file at {path}; save one with Vocab.save(path).")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path} is not valid JSON ({exc}); it is damaged. "
                             "Rebuild the vocabulary and save it again.") from exc
        try:
            return cls.from_dict(data)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
