"""Translator: a trained model plus its source and target fields, from German text to English text.

Typical use, after training has written a checkpoint::

    translator = Translator.from_checkpoint("runs/best.pt", device="cpu")
    translator.translate("Ein Hund rennt durch den Schnee.", beam_size=5)
    translator.translate(["Zwei Männer.", "Ein Kind spielt."])  # a list gives a list
    translator.translate("Ein Hund.", details=True)  # a Translation: tokens, score, attention
    Translator.from_pretrained("attention")  # a model shipped with the package, trained on all of Multi30k
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint, vocabs_from_checkpoint
from .decode import beam_search, check_decode_options, greedy_decode, has_attention
from .fields import Field, check_sentence
from .precision import autocast, resolve_precision
from .utils import usable_device

DEFAULT_MAX_SRC_LEN = 100


@dataclass
class Translation:
    """One translation with what produced it; `attention` is (len(output_labels), len(source)) or None."""

    text: str
    tokens: list[str]  # output words, without <eos>
    source: list[str]  # what the encoder read, with <sos> and <eos>
    score: float  # log-probability (beam search: length-normalised)
    ended: bool  # True when the model produced <eos> (False: cut at max_len)
    attention: Tensor | None

    @property
    def output_labels(self) -> list[str]:
        """One label per decoder step (rows of `attention`): the words, then <eos> if produced."""
        return self.tokens + ["<eos>"] if self.ended else list(self.tokens)


class Translator:
    """Model + fields: `translate(text)` tokenizes, encodes, decodes (greedy or beam) and detokenizes.

    `fast=True` decodes with the engine (`seq2seq_lib.fast`), False with the textbook decoder:
    the same translations either way.
    """

    def __init__(self, model: nn.Module, src_field: Field, trg_field: Field,
                 device: torch.device | str | None = None, max_src_len: int = DEFAULT_MAX_SRC_LEN,
                 precision: str = "fp32", fast: bool = True) -> None:
        if not (hasattr(model, "encode") and hasattr(model, "decoder")):
            raise TypeError(f"model must be a Seq2Seq, got {type(model).__name__}; build it with "
                            "models.build_model or use Translator.from_checkpoint.")
        for name, field in (("src_field", src_field), ("trg_field", trg_field)):
            if not isinstance(field, Field) or field.vocab is None:
                raise ValueError(f"{name} must be a Field with a vocabulary (field.build_vocab(...) or "
                                 "field.vocab = Vocab...); use the fields the model was trained with.")
        sizes = (("source", len(src_field.vocab), model.encoder.embedding.num_embeddings),
                 ("target", len(trg_field.vocab), model.decoder.vocab_size))
        for side, vocab_size, model_size in sizes:
            if vocab_size != model_size:
                raise ValueError(f"The {side} vocabulary has {vocab_size} entries but the model was built "
                                 f"for {model_size}; use the vocabulary the model was trained with "
                                 "(Translator.from_checkpoint restores both).")
        if isinstance(max_src_len, bool) or not isinstance(max_src_len, int) or max_src_len < 1:
            raise ValueError(f"max_src_len must be an integer >= 1, got {max_src_len!r}.")
        self.device = usable_device(device) if device is not None else next(model.parameters()).device
        self.precision = resolve_precision(precision, self.device)  # "bf16": ~4x faster batches on CPUs with AMX
        self.model = model.to(self.device)  # decoding switches to eval mode itself
        self.fast = bool(fast)
        self.src_field, self.trg_field = src_field, trg_field
        self.max_src_len = min(max_src_len, src_field.max_len or max_src_len)
        self.sos_idx = trg_field.vocab[trg_field.init_token]
        self.eos_idx = trg_field.vocab[trg_field.eos_token]

    def __repr__(self) -> str:
        kind = ("Transformer" if hasattr(self.model, "attention_maps") else
                "attention" if has_attention(self.model) else "plain")
        return (f"Translator({kind} model, {self.src_field.lang}->{self.trg_field.lang}, "
                f"vocab {len(self.src_field.vocab)}/{len(self.trg_field.vocab)}, device={self.device})")

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: torch.device | str = "cpu",
                        src_lang: str = "de", trg_lang: str = "en", max_src_len: int = DEFAULT_MAX_SRC_LEN,
                        precision: str = "fp32", fast: bool = True) -> "Translator":
        """Rebuild model and fields (with vocabularies) from a checkpoint written by fit/save_checkpoint."""
        return cls.from_loaded(load_checkpoint(path, map_location=device), device, src_lang, trg_lang,
                               max_src_len, precision, fast, where=str(path))

    @classmethod
    def from_pretrained(cls, name: str, device: torch.device | str = "cpu", max_src_len: int = DEFAULT_MAX_SRC_LEN,
                        precision: str = "fp32", fast: bool = True) -> "Translator":
        """A model shipped with the package, trained on all of Multi30k: "attention" or "classic".

        `seq2seq_lib.pretrained.available()` lists the names; the files are checked against
        their recorded SHA-256 hashes before they are read.
        """
        from .pretrained import load_pretrained

        return cls.from_loaded(load_pretrained(name, device), device, max_src_len=max_src_len,
                               precision=precision, fast=fast, where=f"The pretrained model {name!r}")

    @classmethod
    def from_loaded(cls, checkpoint: dict, device: torch.device | str = "cpu", src_lang: str = "de",
                    trg_lang: str = "en", max_src_len: int = DEFAULT_MAX_SRC_LEN, precision: str = "fp32",
                    fast: bool = True, where: str = "This checkpoint") -> "Translator":
        """`from_checkpoint` for a checkpoint already read with `load_checkpoint`."""
        if not isinstance(checkpoint, dict):
            raise TypeError(f"from_loaded takes the dict load_checkpoint returns, got {type(checkpoint).__name__}; "
                            "for a file use Translator.from_checkpoint(path).")
        if checkpoint.get("src_vocab") is None or checkpoint.get("trg_vocab") is None:
            raise CheckpointError(f"{where} has no vocabularies, so its ids cannot be turned back into "
                                  "words. Use a checkpoint written by fit(), or save one with "
                                  "save_checkpoint(..., spec=ModelSpec(model_config, src_field.vocab, "
                                  "trg_field.vocab)).")
        from .subwords import field_for_vocab

        src_vocab, trg_vocab = vocabs_from_checkpoint(checkpoint)
        data = checkpoint.get("data_config") or {}
        fields = []  # word Fields, or SubwordFields where the vocabulary carries a subword model
        for lang, vocab in ((src_lang, src_vocab), (trg_lang, trg_vocab)):
            reverse = data.get("reverse_src", False) and lang == src_lang
            fields.append(field_for_vocab(lang, vocab, lower=data.get("lower", True), max_len=data.get("max_len"),
                                          reverse=reverse))
        return cls(model_from_checkpoint(checkpoint, device), *fields, device=device, max_src_len=max_src_len,
                   precision=precision, fast=fast)

    def source_tokens(self, text: str, position: int | None = None) -> list[str]:
        """Tokens the model will read for `text` (lowercased if the field lowers), cut to max_src_len with a warning."""
        where = "" if position is None else f"Sentence {position}: "
        try:
            tokens = self.src_field.tokenize(check_sentence(text))
        except (TypeError, ValueError) as error:
            raise type(error)(where + str(error)) from None
        if self.src_field.lower:
            tokens = [token.lower() for token in tokens]
        if len(tokens) > self.max_src_len:
            warnings.warn(f"{where}{len(tokens)} tokens is longer than the limit of {self.max_src_len}; "
                          f"only the first {self.max_src_len} are translated. Split long text into "
                          "sentences (or raise max_src_len).", stacklevel=3)
            tokens = tokens[: self.max_src_len]
        if getattr(self.src_field, "reverse", False):
            tokens = tokens[::-1]  # the model was trained on reversed sources
        vocab = self.src_field.vocab
        if all(token not in vocab for token in tokens):
            warnings.warn(f"{where}every word of {text[:60]!r} is unknown to the source vocabulary, so the "
                          "model reads only <unk>s and the output is a guess. Is the text German, "
                          "and spelled as in the training data?", stacklevel=3)
        return tokens

    def translate_batch(self, sentences: Sequence[str], beam_size: int = 1, max_len: int = 50,
                        length_penalty: float = 1.0, batch_size: int = 256) -> list[Translation]:
        """Translations of many sentences, decoded `batch_size` at a time (sorted by length to limit padding)."""
        check_decode_options(beam_size, max_len)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
        if isinstance(sentences, str) or not isinstance(sentences, Sequence):
            raise TypeError(f"translate_batch takes a list of sentences, got {type(sentences).__name__}; "
                            "for one sentence use translate(text).")
        if len(sentences) == 0:
            raise ValueError("No sentences to translate; pass at least one.")
        token_lists = [self.source_tokens(text, i if len(sentences) > 1 else None)
                       for i, text in enumerate(sentences)]
        ids = [self.src_field.numericalize(tokens) for tokens in token_lists]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        results: list[Translation | None] = [None] * len(ids)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            src, lengths = self.src_field.pad([ids[i] for i in chunk], self.device)  # (S, B), (B,)
            with autocast(self.device, self.precision):
                if beam_size == 1:
                    decoded = greedy_decode(self.model, src, lengths, max_len, self.sos_idx, self.eos_idx,
                                            fast=self.fast)
                else:
                    decoded = beam_search(self.model, src, lengths, beam_size, max_len, self.sos_idx,
                                          self.eos_idx, length_penalty, fast=self.fast)
            for row, i in enumerate(chunk):
                out = decoded.tokens[row]
                ended = bool(out) and out[-1] == self.eos_idx
                words = self.trg_field.vocab.lookup_tokens(out[:-1] if ended else out)
                source = [self.src_field.init_token, *token_lists[i], self.src_field.eos_token]
                results[i] = Translation(self.trg_field.detokenize(words), words, source, decoded.scores[row],
                                         ended, None if decoded.attention is None else decoded.attention[row])
        return results  # type: ignore[return-value]

    def translate(self, sentences: str | Sequence[str], beam_size: int = 1, max_len: int = 50,
                  length_penalty: float = 1.0, batch_size: int = 256, details: bool = False
                  ) -> str | list[str] | Translation | list[Translation]:
        """Text -> translated text (a list for a list); `details=True` gives Translation objects instead."""
        single = isinstance(sentences, str)
        if not single and not isinstance(sentences, Sequence):
            raise TypeError(f"Expected a sentence as a string (or a list of strings), got "
                            f"{type(sentences).__name__}; "
                            "pass text such as 'Ein Hund läuft.'.")
        results = self.translate_batch([sentences] if single else sentences, beam_size, max_len,
                                       length_penalty, batch_size)
        if not details:
            results = [result.text for result in results]
        return results[0] if single else results


__all__ = ["Translation", "Translator", "DEFAULT_MAX_SRC_LEN"]
