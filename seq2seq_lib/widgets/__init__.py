"""The logic behind the notebooks' interactive widgets, as plain functions with tests.

One module per topic (for example `text_pipeline` for notebook 01); a notebook only creates the
ipywidgets controls and connects them to these functions. `merge_widget` (byte-pair-encoding
merges, step by step) comes ready wired; so does `head_explorer.head_explorer` (the Transformer's
heads), imported from its module: exported here under the module's own name, it would hide the
module (`import seq2seq_lib.widgets.head_explorer as he` would give the function).
"""
from .bpe_merges import merge_view, merge_widget

__all__ = ["merge_view", "merge_widget"]
