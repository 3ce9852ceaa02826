"""Training curves: loss and perplexity per epoch, drawn once or live while `fit` trains."""
from __future__ import annotations

from typing import Any

from .history import History


def plot_history(history: History, axes: Any = None) -> Any:
    """Training/validation loss and perplexity per epoch on two axes; returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = range(1, len(history.train_loss) + 1)
    for ax, (name, train, val) in zip(axes, (("loss", history.train_loss, history.val_loss),
                                             ("perplexity", history.train_ppl, history.val_ppl))):
        ax.clear()
        ax.plot(epochs, train, "o-", label="train")
        ax.plot(epochs, val, "o-", label="validation")
        ax.set(xlabel="epoch", ylabel=name, yscale="log" if name == "perplexity" else "linear")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
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
