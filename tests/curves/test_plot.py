import numpy as np
import pytest

from lowfi.curves import DomhanExtrapolator
from lowfi.curves.plot import plot_extrapolation


def test_plot_writes_png(tmp_path):
    steps = np.arange(1.0, 41.0)
    y = 0.1 + 0.8 * steps**-0.6
    ext = DomhanExtrapolator(seed=0, n_burn=30, n_steps=20).fit(steps[:12], y[:12], horizon=40)
    pred = ext.predict(steps)
    out = tmp_path / "c.png"
    fig = plot_extrapolation(steps[:12], y[:12], pred, out, incumbent=0.2, truth=(steps, y))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"90% band", "50% band", "predictive mean", "observed", "incumbent"} <= set(labels)
    with pytest.raises(ValueError, match="several steps"):
        plot_extrapolation(steps[:12], y[:12], ext.predict(40.0), out)
    with pytest.raises(TypeError, match="CurvePrediction"):
        plot_extrapolation(steps[:12], y[:12], [1, 2], out)
