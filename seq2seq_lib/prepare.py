"""One call from raw pairs to ready batches: load, tokenize, build vocabularies, numericalize, batch.

Notebooks after 03 start here so that each can run on its own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .batching import BucketIterator, Example
from .checkpoint import ModelSpec
from .config import DataConfig, ModelConfig, Profile, get_profile
from .data import Pair, load_multi30k, load_sample
from .fields import Field

SPLITS = ("train", "val", "test")


@dataclass
class Prepared:
    """Everything a model needs from the data: fields (with vocabularies), pairs, examples."""

    src_field: Field
    trg_field: Field
    pairs: dict[str, list[Pair]]
    examples: dict[str, list[Example]]
    config: DataConfig
    source: str

    @property
    def pad_idx(self) -> int:
        return self.trg_field.vocab[self.trg_field.pad_token]

    @property
    def sos_idx(self) -> int:
        return self.trg_field.vocab[self.trg_field.init_token]

    @property
    def eos_idx(self) -> int:
        return self.trg_field.vocab[self.trg_field.eos_token]

    def spec(self, model_config: ModelConfig) -> ModelSpec:
        """What checkpoints of a model trained on this data record: its config, the vocabularies, the data config."""
        return ModelSpec(model_config, self.src_field.vocab, self.trg_field.vocab, self.config)

    def iterator(self, split: str, device: torch.device | str = "cpu", shuffle: bool | None = None,
                 seed: int = 0, batch_size: int | None = None, **loader_options) -> BucketIterator:
        """Bucketed batches of a split; training data is shuffled by default, evaluation data is not."""
        if split not in self.examples:
            raise ValueError(f"Unknown split {split!r}; use one of {list(self.examples)}.")
        size = self.config.batch_size if batch_size is None else batch_size  # 0 is refused, not replaced
        return BucketIterator(self.examples[split], size, self.pad_idx, device=device,
                              shuffle=split == "train" if shuffle is None else shuffle, seed=seed, **loader_options)


def numericalize_pairs(pairs: list[Pair], src_field: Field, trg_field: Field) -> list[Example]:
    """(src_ids, trg_ids) for every pair, each wrapped in <sos> ... <eos>."""
    return numericalize_tokens(tokenize_pairs(pairs, src_field, trg_field), src_field, trg_field)


def tokenize_pairs(pairs: list[Pair], src_field: Field, trg_field: Field) -> tuple[list[list[str]], list[list[str]]]:
    """Preprocessed source and target token lists of the pairs."""
    if isinstance(pairs, tuple) and len(pairs) == 2 and all(isinstance(side, str) for side in pairs):
        raise TypeError(f"pairs must be a list of (German, English) pairs; for one pair pass [{pairs!r}].")
    return (src_field.preprocess_many([de for de, _ in pairs]),
            trg_field.preprocess_many([en for _, en in pairs]))


def numericalize_tokens(tokens: tuple[list[list[str]], list[list[str]]], src_field: Field,
                        trg_field: Field) -> list[Example]:
    """Id pairs of already tokenized source and target sentences."""
    return [(src_field.numericalize(s), trg_field.numericalize(t)) for s, t in zip(*tokens)]


def sample_splits(pairs: list[Pair]) -> dict[str, list[Pair]]:
    """Split the bundled sample 80/10/10 in a fixed order."""
    n_val = max(1, len(pairs) // 10)
    return {"train": pairs[: -2 * n_val], "val": pairs[-2 * n_val: -n_val], "test": pairs[-n_val:]}


def build_fields(config: DataConfig, train_pairs: list[Pair]) -> tuple[Field, Field]:
    """The source and target fields `config` asks for: word fields (vocabularies still to build), or
    subword fields whose BPE model is trained on the training pairs (`config.subwords` pieces)."""
    if config.subwords is None:
        return (Field("de", lower=config.lower, max_len=config.max_len, reverse=config.reverse_src),
                Field("en", lower=config.lower, max_len=config.max_len))
    from .subwords import build_subword_fields

    return build_subword_fields([de for de, _ in train_pairs], [en for _, en in train_pairs], config.subwords,
                                joint=config.joint_subwords, lower=config.lower, max_len=config.max_len,
                                reverse_src=config.reverse_src)


def prepare_data(profile: Profile | str | None = None, root: str | os.PathLike | None = None,
                 use_sample: bool = False) -> Prepared:
    """Load Multi30k (or the bundled sample) for `profile` and build fields and vocabularies on train.

    With `profile.data.subwords` set, the fields cut sentences into BPE pieces (`seq2seq_lib.subwords`).
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    config = profile.data
    if use_sample:
        pairs, source = sample_splits(load_sample()), "bundled sample (not Multi30k)"
    else:
        subsets = {"train": profile.train_subset, "val": profile.eval_subset, "test": profile.eval_subset}
        pairs = {split: load_multi30k(split, root, subsets[split]) for split in SPLITS}
        source = "Multi30k"
    src_field, trg_field = build_fields(config, pairs["train"])
    tokens = {split: tokenize_pairs(pairs[split], src_field, trg_field) for split in SPLITS}
    if config.subwords is None:  # word vocabularies are counted on the tokenized training split
        src_field.build_vocab(tokens["train"][0], min_freq=config.min_freq, max_size=config.max_size)
        trg_field.build_vocab(tokens["train"][1], min_freq=config.min_freq, max_size=config.max_size)
    examples = {split: numericalize_tokens(tokens[split], src_field, trg_field) for split in SPLITS}
    return Prepared(src_field, trg_field, pairs, examples, config, source)
