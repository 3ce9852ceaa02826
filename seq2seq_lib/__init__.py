"""seq2seq_lib: the tested helpers behind the seq2seq translation notebook series.

Modules in reading order: config, data, fields, vocab, batching, models, train, decode,
metrics, plots, widgets, exercises, utils.
"""
__version__ = "0.1.0"
