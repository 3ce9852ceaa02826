"""A run folder: the files `fit` and the command line's `train` write into `out_dir` / `--out`."""
BEST = "best.pt"  # the weights with the lowest validation loss so far
LAST = "last.pt"  # the latest epoch, with optimizer and random states: what a resume continues from
HISTORY = "history.json"  # the per-epoch figures (train.History)
SETTINGS = "run.json"  # the command line's resolved options, so `--resume` needs only `--out`

__all__ = ["BEST", "LAST", "HISTORY", "SETTINGS"]
