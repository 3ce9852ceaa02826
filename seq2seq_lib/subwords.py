"""Subword fields: sentences cut into BPE pieces, behind the word `Field`'s interface.

A `SubwordField` does what a `Field` does (preprocess, numericalize, pad, process, decode,
detokenize), so prepare, batching, every model, `Translator` and the metrics take it unchanged,
but its tokens are pieces of words learned by byte-pair encoding: a rare word such as
"skateboardfahrer" is written with a few frequent pieces instead of becoming `<unk>`.
`seq2seq_lib.bpe` shows the algorithm by hand; this module uses sentencepiece to do it at scale.

Why sentencepiece (rather than Hugging Face `tokenizers`): it is one small, well-kept package
with wheels for every platform (Colab included), it trains a BPE model in memory from a list of
sentences in well under a second on Multi30k, it reads raw text, marking each space as the
piece "▁", so that joining the pieces gives the text back without any detokenizing rules, and
its trained model is bytes (about 130 kB for 8000 pieces) that a checkpoint or a JSON file can hold.

The model is trained so that its ids 0..3 are `<unk> <pad> <sos> <eos>`, like every `Vocab` of
the series, and the vocabulary's entries are the model's pieces in id order. The vocabulary
(`SubwordVocab`) carries the model, so saving the vocabulary (`to_dict`, checkpoints, the
pretrained models' vocab JSON files) saves the segmentation too.

>>> field = SubwordField("en")
>>> vocab = field.learn_pieces(["a dog runs.", "a dog sleeps.", "two dogs run."] * 5, vocab_size=40)
>>> vocab.itos[:4]
['<unk>', '<pad>', '<sos>', '<eos>']
>>> field.detokenize(field.preprocess("A dog runs."))
'a dog runs.'
"""
from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from typing import Any

from .config import SPECIALS, UNK
from .fields import Field, check_sentence
from .vocab import FORMAT as VOCAB_FORMAT
from .vocab import Vocab

SPACE = "\u2581"  # "▁": sentencepiece's mark for a space before a piece
MODEL_KEY = "sentencepiece"  # the key of the base64 model in a vocabulary's to_dict()
FIELD_FORMAT = "seq2seq_lib.subword_field/1"


def _sentencepiece() -> Any:
    """The sentencepiece module, imported only when a subword model is used (word fields never need it)."""
    try:
        import sentencepiece
    except ImportError:
        raise ImportError("Subword fields need the sentencepiece package: pip install sentencepiece "
                          "(it is a dependency of seq2seq-lib, so reinstalling the package also brings it).") from None
    return sentencepiece


class SubwordVocab(Vocab):
    """A `Vocab` whose entries are a sentencepiece model's pieces; it keeps the model (`model`, bytes)."""

    def __init__(self, model: bytes):
        if not isinstance(model, (bytes, bytearray)):
            raise TypeError(f"model must be the bytes of a sentencepiece model, got {type(model).__name__}; "
                            "train one with train_sentencepiece(sentences, vocab_size).")
        self.processor = _sentencepiece().SentencePieceProcessor()
        try:
            self.processor.LoadFromSerializedProto(bytes(model))
        except RuntimeError as error:
            raise ValueError(f"These bytes are not a sentencepiece model ({error}); "
                             "train one with train_sentencepiece(sentences, vocab_size).") from None
        itos = [self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size())]
        if tuple(itos[:len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"The model's first pieces are {itos[:4]}, not {list(SPECIALS)}; train it with "
                             "train_sentencepiece, which puts the specials at ids 0..3.")
        super().__init__(itos, unk_token=UNK)
        self.model = bytes(model)

    def __repr__(self) -> str:
        return f"SubwordVocab(size={len(self)}, first={self.itos[4:10]})"

    def to_dict(self) -> dict:
        """`Vocab.to_dict()` plus the model as base64 text, so that JSON and checkpoints can hold it."""
        return {**super().to_dict(), MODEL_KEY: base64.b64encode(self.model).decode("ascii")}

    @classmethod
    def from_dict(cls, data: object) -> "SubwordVocab":
        """Rebuild from `to_dict()` output; the pieces must be the ones the dict lists."""
        if not is_subword_dict(data):
            raise ValueError(f"Not a saved subword vocabulary (expected format={VOCAB_FORMAT!r}, an 'itos' list "
                             f"and a {MODEL_KEY!r} entry); save it with SubwordVocab.to_dict().")
        try:
            model = base64.b64decode(data[MODEL_KEY], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ValueError(f"The {MODEL_KEY!r} entry is not base64 text; the saved vocabulary is damaged. "
                             "Save it again with SubwordVocab.to_dict().") from None
        vocab = cls(model)
        if vocab.itos != data["itos"]:
            raise ValueError("The saved pieces ('itos') differ from the pieces of the saved model; the vocabulary "
                             "is damaged. Save it again with SubwordVocab.to_dict().")
        return vocab


def is_subword_dict(data: object) -> bool:
    """Whether a saved vocabulary (a `to_dict()` result) carries a subword model."""
    return (isinstance(data, dict) and data.get("format") == VOCAB_FORMAT and isinstance(data.get("itos"), list)
            and isinstance(data.get(MODEL_KEY), str))


def vocab_from_dict(data: object) -> Vocab:
    """A `SubwordVocab` when the saved vocabulary carries a model, else a word `Vocab`."""
    return SubwordVocab.from_dict(data) if is_subword_dict(data) else Vocab.from_dict(data)


def _check_sentences(sentences: object) -> list[str]:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence) or len(sentences) == 0:
        raise TypeError("Expected a non-empty list of sentences, e.g. [en for _, en in pairs]; "
                        "wrap a single sentence in a list.")
    return [check_sentence(text) for text in sentences]


def train_sentencepiece(sentences: Sequence[str], vocab_size: int, lower: bool = True) -> SubwordVocab:
    """Learn a BPE model of about `vocab_size` pieces (the 4 specials included) from `sentences`.

    Every character of the sentences gets a piece (character_coverage=1.0), so only characters
    never seen in training become `<unk>`. On a corpus too small to fill `vocab_size`, the
    vocabulary stops when every word is a single piece, so it can come out smaller.
    """
    texts = [text.lower() if lower else text for text in _check_sentences(sentences)]
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
        raise TypeError(f"vocab_size must be an integer, got {vocab_size!r}; 8000 suits Multi30k.")
    needed = len({c for text in texts for c in text if not c.isspace()}) + 1 + len(SPECIALS)  # + 1: "▁"
    if vocab_size < needed:
        raise ValueError(f"vocab_size={vocab_size} is too small: these sentences use {needed - 5} different "
                         f"characters, which with '▁' and the 4 specials need {needed} entries; "
                         f"choose at least {needed} (8000 suits Multi30k).")
    model = io.BytesIO()
    _sentencepiece().SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, model_type="bpe", vocab_size=vocab_size,
        hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="identity",
        unk_id=0, pad_id=1, bos_id=2, eos_id=3, unk_piece=SPECIALS[0], pad_piece=SPECIALS[1],
        bos_piece=SPECIALS[2], eos_piece=SPECIALS[3], num_threads=1, minloglevel=2)
    return SubwordVocab(model.getvalue())


class SubwordField(Field):
    """A `Field` whose tokens are BPE pieces: lowercase (if `lower`), cut into pieces, add <sos>/<eos>, ids.

    `vocab` must be a `SubwordVocab`: learn one with `learn_pieces(sentences, vocab_size)`, or set a
    saved one (`SubwordVocab.from_dict`). `max_len` counts pieces; `reverse` reverses them.
    """

    @property
    def vocab(self) -> SubwordVocab | None:
        return self._vocab

    @vocab.setter
    def vocab(self, vocab: SubwordVocab | None) -> None:
        if vocab is not None and not isinstance(vocab, SubwordVocab):
            raise TypeError(f"A SubwordField needs a SubwordVocab (it carries the model that cuts words into "
                            f"pieces), got {type(vocab).__name__}; use field.learn_pieces(sentences, vocab_size) "
                            "or a word Field for a word vocabulary.")
        self._vocab = vocab

    def __repr__(self) -> str:
        size = len(self.vocab) if self.vocab is not None else None
        return f"SubwordField(lang={self.lang!r}, lower={self.lower}, max_len={self.max_len}, vocab_size={size})"

    def learn_pieces(self, sentences: Sequence[str], vocab_size: int) -> SubwordVocab:
        """Train this field's BPE model on `sentences` (lowercased if `lower`) and keep it as `vocab`."""
        self.vocab = train_sentencepiece(sentences, vocab_size, self.lower)
        return self.vocab

    def build_vocab(self, token_lists: object = None, min_freq: int = 1, max_size: int | None = None) -> Vocab:
        raise TypeError("A SubwordField's vocabulary is its trained model's pieces; call "
                        "field.learn_pieces(sentences, vocab_size) instead of build_vocab.")

    def _pieces(self, texts: list[str]) -> list[list[str]]:
        texts = [text.lower() if self.lower else text for text in texts]  # the model learned lowercased text
        return self._require_vocab().processor.encode(texts, out_type=str) if texts else []

    def tokenize(self, text: str) -> list[str]:
        """Pieces of one sentence (of its lowercased text if `lower`), before max_len and reverse apply."""
        return self._pieces([check_sentence(text)])[0]

    def preprocess_many(self, texts: Sequence[str]) -> list[list[str]]:
        """`preprocess` for many sentences in one call to the model."""
        if isinstance(texts, str):
            raise TypeError("preprocess_many takes a list of sentences; use preprocess(text) for one sentence.")
        return [self._finish(pieces) for pieces in self._pieces([check_sentence(text) for text in texts])]

    @staticmethod
    def detokenize(tokens: Sequence[str]) -> str:
        """Text of pieces: join them and turn each "▁" back into a space.

        >>> SubwordField.detokenize(["▁a", "▁skate", "board", "er", "."])
        'a skateboarder.'
        """
        if isinstance(tokens, str):
            raise TypeError("detokenize takes a list of pieces, e.g. field.decode(ids), not a string.")
        return "".join(tokens).replace(SPACE, " ").strip()

    def to_dict(self) -> dict:
        """A JSON-ready description of the field, its model included; `SubwordField.from_dict` restores it."""
        return {"format": FIELD_FORMAT, "lang": self.lang, "lower": self.lower, "max_len": self.max_len,
                "reverse": self.reverse, "vocab": self._require_vocab().to_dict()}

    @classmethod
    def from_dict(cls, data: object) -> "SubwordField":
        """The field that `to_dict()` described, with the same pieces and ids."""
        if not isinstance(data, dict) or data.get("format") != FIELD_FORMAT:
            raise ValueError(f"Not a saved subword field (expected a dict with format={FIELD_FORMAT!r}); "
                             "save one with SubwordField.to_dict().")
        field = cls(data.get("lang", "en"), lower=data.get("lower", True), max_len=data.get("max_len"),
                    reverse=data.get("reverse", False))
        field.vocab = SubwordVocab.from_dict(data.get("vocab"))
        return field


def build_subword_fields(src_sentences: Sequence[str], trg_sentences: Sequence[str], vocab_size: int,
                         joint: bool = True, lower: bool = True, max_len: int | None = None,
                         reverse_src: bool = False, langs: tuple[str, str] = ("de", "en")
                         ) -> tuple[SubwordField, SubwordField]:
    """Source and target subword fields trained on the training sentences.

    `joint=True` trains one model on both languages (one vocabulary of `vocab_size` pieces that the
    two fields share, so a name spelled alike on both sides is cut alike); `joint=False` trains one
    model of `vocab_size` pieces per language.
    """
    if not isinstance(joint, bool):
        raise TypeError(f"joint must be True or False, got {joint!r}.")
    src = SubwordField(langs[0], lower=lower, max_len=max_len, reverse=reverse_src)
    trg = SubwordField(langs[1], lower=lower, max_len=max_len)
    if joint:
        src.vocab = trg.vocab = train_sentencepiece([*_check_sentences(src_sentences),
                                                     *_check_sentences(trg_sentences)], vocab_size, lower)
    else:
        src.learn_pieces(src_sentences, vocab_size)
        trg.learn_pieces(trg_sentences, vocab_size)
    return src, trg


def field_for_vocab(lang: str, vocab: Vocab, lower: bool = True, max_len: int | None = None,
                    reverse: bool = False) -> Field:
    """The field that reads and writes `vocab`: a SubwordField for a SubwordVocab, else a word Field."""
    if not isinstance(vocab, Vocab):
        raise TypeError(f"Expected a Vocab, got {type(vocab).__name__}; rebuild it with vocab_from_dict(saved).")
    kind = SubwordField if isinstance(vocab, SubwordVocab) else Field
    field = kind(lang, lower=lower, max_len=max_len, reverse=reverse)
    field.vocab = vocab
    return field


def unk_rate(field: Field, sentences: Sequence[str], per: str = "token") -> float:
    """Share of tokens (`per="token"`) or of sentences (`per="sentence"`) that hold an `<unk>`.

    Works for word and subword fields; tokens are what the field feeds the model (words or
    pieces), without <sos>/<eos>.

    >>> words = Field("en")
    >>> _ = words.build_vocab([["a", "dog", "."]])
    >>> unk_rate(words, ["A dog.", "A cat."]), unk_rate(words, ["A dog.", "A cat."], per="sentence")
    (0.16666666666666666, 0.5)
    """
    if not isinstance(field, Field):
        raise TypeError(f"Expected a Field or SubwordField, got {type(field).__name__}.")
    if per not in ("token", "sentence"):
        raise ValueError(f"per must be 'token' or 'sentence', got {per!r}.")
    vocab = field._require_vocab()
    flags = [[index == vocab.unk_index for index in vocab.lookup_indices(tokens)]
             for tokens in field.preprocess_many(_check_sentences(sentences))]
    if per == "sentence":
        return sum(any(f) for f in flags) / len(flags)
    tokens = sum(len(f) for f in flags)
    return sum(sum(f) for f in flags) / tokens if tokens else 0.0


__all__ = ["SPACE", "MODEL_KEY", "FIELD_FORMAT", "SubwordVocab", "is_subword_dict", "vocab_from_dict",
           "train_sentencepiece", "SubwordField", "build_subword_fields", "field_for_vocab", "unk_rate"]
