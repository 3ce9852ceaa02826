"""Field: text -> tokens -> ids -> padded tensor, and back (after torchtext's legacy Field).

Tokenization uses spaCy's rule-based tokenizer for the language: a trained pipeline such as
`de_core_news_sm` when it is installed, otherwise `spacy.blank(lang)`, which has the same
tokenizer rules.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import torch

from .config import EOS, PAD, SOS, UNK
from .vocab import Vocab, is_id_list

TRAINED_PIPELINES = {"de": "de_core_news_sm", "en": "en_core_web_sm"}


@lru_cache(maxsize=None)
def spacy_tokenizer(lang: str):
    """spaCy's tokenizer for `lang` (cached: building one takes a moment)."""
    import spacy

    name = TRAINED_PIPELINES.get(lang)
    if name and spacy.util.is_package(name):
        return spacy.load(name).tokenizer
    try:
        return spacy.blank(lang).tokenizer
    except (ImportError, KeyError) as exc:
        raise ValueError(f"spaCy has no tokenizer for language {lang!r}; use a code such as 'de' or 'en'.") from exc


def check_sentence(text: object) -> str:
    """Return `text` if it is a non-empty string, else raise a message saying what was wrong.

    >>> check_sentence("Ein Hund.")
    'Ein Hund.'
    """
    if not isinstance(text, str):
        raise TypeError(f"Expected a sentence as a string, got {type(text).__name__} ({text!r:.40}); "
                        "pass text such as 'Ein Hund läuft.'.")
    if not text.strip():
        raise ValueError("The sentence is empty (or only whitespace); type at least one word.")
    return text


class Field:
    """How one language's text becomes model input: tokenize, lowercase, add <sos>/<eos>, map to ids."""

    def __init__(self, lang: str, lower: bool = True, init_token: str | None = SOS,
                 eos_token: str | None = EOS, pad_token: str = PAD, unk_token: str = UNK,
                 max_len: int | None = None, reverse: bool = False):
        if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
            raise ValueError(f"max_len must be None or a positive integer, got {max_len!r}.")
        self.lang = lang
        self.lower = lower
        self.init_token = init_token
        self.eos_token = eos_token
        self.pad_token = pad_token
        self.unk_token = unk_token
        self.max_len = max_len
        self.reverse = reverse
        self.tokenizer = spacy_tokenizer(lang)
        self.vocab: Vocab | None = None

    def __repr__(self) -> str:
        size = len(self.vocab) if self.vocab is not None else None
        return f"Field(lang={self.lang!r}, lower={self.lower}, max_len={self.max_len}, vocab_size={size})"

    @property
    def specials(self) -> tuple[str, ...]:
        return tuple(t for t in (self.unk_token, self.pad_token, self.init_token, self.eos_token) if t)

    def tokenize(self, text: str) -> list[str]:
        """spaCy tokens of one sentence, as written (no lowercasing)."""
        return [token.text for token in self.tokenizer(check_sentence(text))]

    def preprocess(self, text: str) -> list[str]:
        """Tokens ready for the vocabulary: tokenized, lowercased if `lower`, cut to `max_len`, reversed if `reverse`."""
        return self._finish(self.tokenize(text))

    def preprocess_many(self, texts: Iterable[str]) -> list[list[str]]:
        """`preprocess` for many sentences at once (spaCy's pipe is faster than a loop)."""
        if isinstance(texts, str):
            raise TypeError("preprocess_many takes a list of sentences; use preprocess(text) for one sentence.")
        texts = [check_sentence(text) for text in texts]
        return [self._finish([t.text for t in doc]) for doc in self.tokenizer.pipe(texts, batch_size=2000)]

    def _finish(self, tokens: list[str]) -> list[str]:
        # spaCy keeps a run of extra spaces as a token; kept, as torchtext-era pipelines did.
        if self.lower:
            tokens = [t.lower() for t in tokens]
        tokens = tokens[: self.max_len] if self.max_len is not None else tokens
        return tokens[::-1] if self.reverse else tokens

    def build_vocab(self, token_lists: Iterable[Sequence[str]], min_freq: int = 1,
                    max_size: int | None = None) -> Vocab:
        """Build (and keep on the field) a vocabulary from preprocessed token lists."""
        self.vocab = Vocab.build(token_lists, min_freq=min_freq, max_size=max_size, specials=self.specials)
        return self.vocab

    def _require_vocab(self) -> Vocab:
        if self.vocab is None:
            raise RuntimeError(f"The {self.lang!r} field has no vocabulary yet; "
                               "call field.build_vocab(token_lists) (or set field.vocab) first.")
        return self.vocab

    def numericalize(self, tokens: Sequence[str]) -> list[int]:
        """Ids of one token list with <sos>/<eos> around it; unknown words become <unk>."""
        if isinstance(tokens, str):
            raise TypeError("numericalize takes a token list; call field.preprocess(text) first.")
        vocab = self._require_vocab()
        head = [vocab[self.init_token]] if self.init_token else []
        tail = [vocab[self.eos_token]] if self.eos_token else []
        return head + vocab.lookup_indices(tokens) + tail

    def pad(self, id_lists: Sequence[Sequence[int]], device: torch.device | str | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad id lists into a (seq_len, batch) LongTensor plus their lengths (batch,)."""
        vocab = self._require_vocab()
        if len(id_lists) == 0:
            raise ValueError("Cannot pad an empty batch; pass at least one sequence.")
        for ids in id_lists[:1]:  # the rest were made the same way
            if not is_id_list(ids):
                raise TypeError(f"pad takes a list of id lists, one per sentence (from numericalize), got {ids!r} "
                                "as its first item; for one sentence pass [ids], for text use process(texts).")
        lengths = torch.tensor([len(ids) for ids in id_lists], dtype=torch.long)
        batch = torch.full((int(lengths.max()), len(id_lists)), vocab[self.pad_token], dtype=torch.long)
        for column, ids in enumerate(id_lists):
            batch[: len(ids), column] = torch.as_tensor(ids, dtype=torch.long)
        return batch.to(device) if device is not None else batch, lengths

    def process(self, texts: Sequence[str], device: torch.device | str | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sentences -> padded (seq_len, batch) LongTensor and lengths, in one call."""
        if isinstance(texts, str):
            texts = [texts]
        return self.pad([self.numericalize(tokens) for tokens in self.preprocess_many(texts)], device)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of an id sequence: drops <sos> and <pad>, stops at the first <eos>."""
        vocab = self._require_vocab()
        if isinstance(ids, torch.Tensor) and ids.dim() != 1:
            raise ValueError(f"decode takes the ids of one sentence (1-D), got shape {tuple(ids.shape)}; for a "
                             "(seq_len, batch) tensor use decode_batch.")
        tokens = []
        for token in vocab.lookup_tokens(int(i) for i in ids):
            if token == self.eos_token:
                break
            if token not in (self.init_token, self.pad_token):
                tokens.append(token)
        return tokens

    def decode_batch(self, batch: torch.Tensor) -> list[list[str]]:
        """Token lists of every column of a (seq_len, batch) id tensor."""
        if not isinstance(batch, torch.Tensor):
            raise TypeError(f"decode_batch takes a (seq_len, batch) tensor, got {type(batch).__name__}; for id "
                            "lists decode each one: [field.decode(ids) for ids in id_lists].")
        if batch.dim() != 2:
            raise ValueError(f"Expected a (seq_len, batch) tensor, got shape {tuple(batch.shape)}.")
        return [self.decode(column.tolist()) for column in batch.t()]

    @staticmethod
    def detokenize(tokens: Sequence[str]) -> str:
        """Join tokens into readable text (no space before punctuation).

        >>> Field.detokenize(["a", "dog", ",", "running", "."])
        'a dog, running.'
        """
        if isinstance(tokens, str):
            raise TypeError(f"detokenize takes a list of tokens, not the string {tokens[:40]!r}; split it first "
                            "or pass the tokens that decode gives.")
        text = " ".join(tokens)
        for mark in (" .", " ,", " !", " ?", " ;", " :", " 's", " n't", " )"):
            text = text.replace(mark, mark[1:])
        return text.replace("( ", "(")
