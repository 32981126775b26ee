"""Plot a learning curve with its extrapolation: observed part, mean, 50% and 90% bands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lowfi.curves.prediction import CurvePrediction


def plot_extrapolation(
    steps: Any,
    values: Any,
    prediction: CurvePrediction,
    path: str | Path | None = None,
    *,
    incumbent: float | None = None,
    truth: tuple[Any, Any] | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Draw the observed curve, the predictive mean and 50%/90% bands; save a PNG to ``path``.

    Parameters
    ----------
    steps, values
        The observed part of the curve.
    prediction
        A :class:`CurvePrediction` over several steps (e.g. ``ext.predict(range(1, T + 1))``).
    path
        Where to write the PNG (skipped when None).
    incumbent
        Optional best value so far, drawn as a horizontal line.
    truth
        Optional ``(steps, values)`` of the full curve (drawn dashed), for evaluation plots.
    title
        Axes title.
    ax
        A matplotlib axes to draw into (a new figure when None).

    Returns
    -------
    The matplotlib ``Figure``.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not isinstance(prediction, CurvePrediction):
        raise TypeError(f"prediction: got {type(prediction).__name__}; need a CurvePrediction")
    if prediction.scalar or prediction.steps.size < 2:
        raise ValueError("prediction: predict several steps (e.g. range(1, T + 1)) to plot a band")
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    t = prediction.steps
    q = np.asarray(prediction.quantile([0.05, 0.25, 0.5, 0.75, 0.95]))
    ax.fill_between(t, q[0], q[4], color="tab:blue", alpha=0.15, label="90% band")
    ax.fill_between(t, q[1], q[3], color="tab:blue", alpha=0.3, label="50% band")
    ax.plot(t, np.asarray(prediction.mean), color="tab:blue", lw=1.5, label="predictive mean")
    if truth is not None:
        ax.plot(
            np.asarray(truth[0]),
            np.asarray(truth[1]),
            color="0.5",
            ls="--",
            lw=1,
            label="full curve",
        )
    ax.plot(np.asarray(steps), np.asarray(values), "k.", ms=4, label="observed")
    if incumbent is not None:
        ax.axhline(incumbent, color="tab:red", lw=1, ls=":", label="incumbent")
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    if path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    if own:
        plt.close(fig)
    return fig
