"""Frozen configuration dataclasses and the `ci`/`full` profiles.

Every knob of the series lives here. Variants are made with `dataclasses.replace`,
never by mutating a config, so a checkpoint's config always describes its model.

>>> from dataclasses import replace
>>> small = replace(ModelConfig(), hidden_dim=64)
>>> small.hidden_dim, ModelConfig().hidden_dim
(64, 512)
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace

SPECIALS = ("<unk>", "<pad>", "<sos>", "<eos>")
UNK, PAD, SOS, EOS = SPECIALS
PROFILE_ENV = "SEQ2SEQ_PROFILE"
RNN_TYPES = ("lstm", "gru")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")  # "auto" picks what runs and is faster (seq2seq_lib.precision)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_number(value: object) -> bool:
    """A finite real number that is not a bool (True would pass for 1)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class DataConfig:
    """How sentences become tensors: tokenization, vocabulary and batching."""

    lower: bool = True
    min_freq: int = 2
    max_size: int | None = 10_000
    batch_size: int = 128
    max_len: int | None = None
    reverse_src: bool = False  # feed the source backwards (Sutskever et al., 2014); off unless asked for (notebook 07)
    # BPE pieces instead of words (seq2seq_lib.subwords): the vocabulary size, specials included
    # (min_freq and max_size then do not apply); None keeps word vocabularies.
    subwords: int | None = None
    joint_subwords: bool = True  # one subword model for both languages (False: one per language)

    def __post_init__(self) -> None:
        _check(isinstance(self.reverse_src, bool), f"reverse_src must be True or False, got {self.reverse_src!r}.")
        _check(self.subwords is None or (isinstance(self.subwords, int) and not isinstance(self.subwords, bool)
                                         and self.subwords >= 1),
               f"subwords must be None (word vocabularies) or a vocabulary size, got {self.subwords!r}; "
               "8000 suits Multi30k.")
        _check(isinstance(self.joint_subwords, bool),
               f"joint_subwords must be True or False, got {self.joint_subwords!r}.")
        _check(isinstance(self.min_freq, int) and self.min_freq >= 1,
               f"min_freq must be an integer >= 1, got {self.min_freq!r}; use 1 to keep every token.")
        _check(self.max_size is None or (isinstance(self.max_size, int) and self.max_size >= 1),
               f"max_size must be None or an integer >= 1, got {self.max_size!r}.")
        _check(isinstance(self.batch_size, int) and self.batch_size >= 1,
               f"batch_size must be an integer >= 1, got {self.batch_size!r}.")
        _check(self.max_len is None or (isinstance(self.max_len, int) and self.max_len >= 1),
               f"max_len must be None or an integer >= 1, got {self.max_len!r}.")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the encoder-decoder; the defaults are the classic recipe (about 13.9M parameters)."""

    emb_dim: int = 256
    hidden_dim: int = 512
    n_layers: int = 2
    dropout: float = 0.5
    rnn_type: str = "lstm"
    attention: bool = False
    feed_context: bool = False  # hand the encoder's summary to every decoder step (Cho et al., 2014)
    # The Transformer (Vaswani et al., 2017): emb_dim is its width d_model (embeddings feed the
    # residual stream directly), hidden_dim the inner width of each feed-forward block, n_layers
    # the layers of each stack.
    transformer: bool = False
    n_heads: int = 8
    pre_norm: bool = True  # LayerNorm before each sublayer (trains without warm-up tricks) or after (2017)
    tie_embeddings: bool = True  # the decoder's embedding and output projection share one matrix
    max_positions: int = 256  # the longest sequence the sinusoidal position table covers

    def __post_init__(self) -> None:
        flags = {"attention": self.attention, "feed_context": self.feed_context, "transformer": self.transformer,
                 "pre_norm": self.pre_norm, "tie_embeddings": self.tie_embeddings}
        for name, value in flags.items():
            _check(isinstance(value, bool), f"{name} must be True or False, got {value!r}.")
        _check(self.attention + self.feed_context + self.transformer <= 1,
               "attention, feed_context and transformer name different model families; turn on at most one.")
        for name in ("emb_dim", "hidden_dim", "n_layers", "n_heads", "max_positions"):
            value = getattr(self, name)
            _check(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                   f"{name} must be a positive integer, got {value!r}.")
        _check(isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0,
               f"dropout must be in [0, 1), got {self.dropout!r}; 0.5 is the classic value.")
        _check(self.rnn_type in RNN_TYPES,
               f"rnn_type must be one of {RNN_TYPES}, got {self.rnn_type!r}.")
        _check(not self.transformer or self.emb_dim % self.n_heads == 0,
               f"emb_dim ({self.emb_dim}) must be divisible by n_heads ({self.n_heads}): each head reads "
               "emb_dim // n_heads features; e.g. emb_dim=256 with n_heads=8.")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings: the classic recipe uses Adam, clip 1.0 and teacher forcing 0.5."""

    epochs: int = 10
    lr: float = 1e-3
    clip: float = 1.0
    teacher_forcing_ratio: float = 0.5
    lr_decay: float = 1.0  # multiply the learning rate by this once per epoch ...
    lr_decay_after: int = 0  # ... after this many epochs at the full rate
    seed: int = 1234
    precision: str = "auto"  # one of PRECISION_CHOICES
    fast: bool = True  # train with the engine (seq2seq_lib.fast), which computes what the textbook code does
    label_smoothing: float = 0.0  # share of each target's probability spread over the vocabulary (0: off)
    warmup_steps: int = 0  # > 0: the Transformer's schedule, lr * min(step / warmup, sqrt(warmup / step))

    def __post_init__(self) -> None:
        _check(isinstance(self.label_smoothing, (int, float)) and 0.0 <= self.label_smoothing < 1.0,
               f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}; 0.1 is the usual value.")
        _check(isinstance(self.warmup_steps, int) and not isinstance(self.warmup_steps, bool)
               and self.warmup_steps >= 0,
               f"warmup_steps must be an integer >= 0, got {self.warmup_steps!r}; 0 keeps the epoch schedule.")
        _check(isinstance(self.fast, bool), f"fast must be True or False, got {self.fast!r}.")
        _check(_is_count(self.epochs) and self.epochs >= 1,
               f"epochs must be an integer >= 1, got {self.epochs!r}.")
        _check(_is_number(self.lr) and self.lr > 0, f"lr must be a positive number, got {self.lr!r}.")
        _check(_is_count(self.seed) and 0 <= self.seed < 2**32,
               f"seed must be an integer in [0, 2**32), got {self.seed!r}.")
        _check(isinstance(self.lr_decay, (int, float)) and 0.0 < self.lr_decay <= 1.0,
               f"lr_decay must be in (0, 1], got {self.lr_decay!r}; 1.0 keeps the rate constant, "
               "0.5 halves it every epoch.")
        _check(isinstance(self.lr_decay_after, int) and not isinstance(self.lr_decay_after, bool)
               and self.lr_decay_after >= 0,
               f"lr_decay_after must be an integer >= 0 (epochs at the full rate), got {self.lr_decay_after!r}.")
        _check(_is_number(self.clip) and self.clip > 0,
               f"clip must be a positive number, got {self.clip!r}; 1.0 is the classic value.")
        _check(_is_number(self.teacher_forcing_ratio) and 0.0 <= self.teacher_forcing_ratio <= 1.0,
               f"teacher_forcing_ratio must be in [0, 1], got {self.teacher_forcing_ratio!r}.")
        _check(self.precision in PRECISION_CHOICES,
               f"precision must be one of {', '.join(PRECISION_CHOICES)}, got {self.precision!r}.")


@dataclass(frozen=True)
class Profile:
    """A size preset: `ci` is a small subset for CPU in seconds, `full` is the real run."""

    name: str
    train_subset: int | None
    eval_subset: int | None
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def describe(self) -> str:
        """One line saying which profile is in effect and what it means."""
        size = "all" if self.train_subset is None else f"{self.train_subset:,}"
        return (f"profile={self.name}: {size} training pairs, "
                f"model emb={self.model.emb_dim} hidden={self.model.hidden_dim} "
                f"layers={self.model.n_layers}, {self.train.epochs} epoch(s)")

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    "ci": Profile(
        name="ci",
        train_subset=2_000,
        eval_subset=200,
        data=DataConfig(min_freq=2, batch_size=64),
        model=ModelConfig(emb_dim=64, hidden_dim=128, n_layers=2, dropout=0.2),
        train=TrainConfig(epochs=2),
    ),
    "full": Profile(name="full", train_subset=None, eval_subset=None),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named, else `$SEQ2SEQ_PROFILE`, else `ci`.

    >>> get_profile("full").train_subset is None
    True
    """
    chosen = name if name is not None else os.environ.get(PROFILE_ENV, "ci")
    if chosen not in PROFILES:
        raise ValueError(
            f"Unknown profile {chosen!r}; choose one of {sorted(PROFILES)} "
            f"(set {PROFILE_ENV}=ci for a quick CPU run or {PROFILE_ENV}=full for the real one)."
        )
    return PROFILES[chosen]


__all__ = [
    "SPECIALS", "UNK", "PAD", "SOS", "EOS", "DataConfig", "ModelConfig", "TrainConfig",
    "Profile", "PROFILES", "get_profile", "replace",
]
