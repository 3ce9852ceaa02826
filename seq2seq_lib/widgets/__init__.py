"""The logic behind the notebooks' interactive widgets, as plain functions with tests.

One module per topic (for example `text_pipeline` for notebook 01); a notebook only creates the
ipywidgets controls and connects them to these functions. `merge_widget` (byte-pair-encoding
merges, step by step) comes ready wired.
"""
from .bpe_merges import merge_view, merge_widget
from .head_explorer import head_explorer

__all__ = ["merge_view", "merge_widget", "head_explorer"]
