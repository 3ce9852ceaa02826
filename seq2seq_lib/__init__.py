"""seq2seq_lib: the tested helpers behind the seq2seq translation notebook series.

Modules in reading order: config, data, fields, vocab, bpe and subwords (subword vocabularies),
batching, prepare, models (the textbook: layers, classic, seq2seq, context, attention,
transformer), precision, history, train, checkpoint, runs, evaluation, decode, translator,
metrics, significance (confidence intervals and paired tests), plots, curves, widgets, exercises. Beside them, `fast`
is the engine: the same models run faster, switched by `fast=True` and tested equal to the
textbook. `files` writes atomically; `utils` seeds and picks the device.
"""
__version__ = "0.1.0"
