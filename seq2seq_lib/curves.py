"""Training curves: loss and perplexity per epoch, drawn once or live while `fit` trains.

The validation curves are labelled by how they were measured: teacher-forced (its exp is the
perplexity) and free-running (the model reads its own predictions; dashed, a diagnostic).
"""
from __future__ import annotations

import math
from typing import Any

from .history import History
from .metrics import perplexity

TRAIN_LABEL = "train"
TEACHER_FORCED_LABEL = "validation, teacher-forced"
FREE_RUNNING_LABEL = "validation, free-running"


def plot_history(history: History, axes: Any = None) -> Any:
    """Loss and perplexity per epoch on two axes (train, teacher-forced and free-running validation); the figure.

    The perplexity axis shows exp of each loss; the teacher-forced validation curve is the perplexity
    proper. Epochs of old runs that did not measure a curve (NaN) are left out of it.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not isinstance(history, History):
        raise ValueError(f"plot_history needs a History (what fit returns), got {type(history).__name__}.")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    if not hasattr(axes, "__len__") or len(axes) != 2:
        raise ValueError("plot_history draws two panels, loss and perplexity: pass two axes, e.g. "
                         "_, axes = plt.subplots(1, 2), or none to get a new figure.")
    epochs = list(range(1, len(history.train_loss) + 1))
    curves = ((TRAIN_LABEL, history.train_loss, "o-"), (TEACHER_FORCED_LABEL, history.val_loss, "o-"),
              (FREE_RUNNING_LABEL, history.val_loss_free_running, "s--"))
    for ax, name in zip(axes, ("loss", "perplexity")):
        ax.clear()
        for label, losses, style in curves:
            points = [(e, loss if name == "loss" else perplexity(loss)) for e, loss in zip(epochs, losses)
                      if math.isfinite(loss)]
            if points:
                ax.plot(*zip(*points), style, label=label)
        ax.set(xlabel="epoch", ylabel=name if name == "loss" else "perplexity (exp of the loss)",
               yscale="log" if name == "perplexity" else "linear")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small")
    axes[0].set_title("loss per target token")
    axes[1].set_title("the teacher-forced validation curve is the perplexity", fontsize="medium")
    return axes[0].figure


def live_plot(history: History) -> None:
    """Redraw the curves in place in a notebook cell (what fit(..., live_plot=True) shows after each epoch)."""
    import matplotlib.pyplot as plt
    from IPython.display import clear_output, display

    figure = plot_history(history)
    clear_output(wait=True)
    display(figure)
    plt.close(figure)


__all__ = ["plot_history", "live_plot"]
