"""Next-value models: predict a curve one step at a time from a fixed-size window.

* :class:`WindowForest` -- a random forest on the last ``window`` values (and their
  differences) predicting the next change; uncertainty from rolling out every tree on its own,
  plus the forest's out-of-bag one-step error accumulated over the horizon (``sqrt(h)``).
* :class:`LSTMNextValue` -- a small LSTM over the window with variational (MC) dropout
  (Gal & Ghahramani 2016): dropout stays active at prediction time and each of ``n_mc``
  masks gives one rolled-out curve. Needs PyTorch (``pip install lowfi[nas]``).

Both are trained on a set of curves (e.g. the finished curves of a run) and extrapolate a new
partial curve by feeding their own predictions back in; both return a
:class:`lowfi.curves.CurvePrediction`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.curves.prediction import CurvePrediction


def _as_curves(curves: Any) -> list[np.ndarray]:
    out = []
    for c in curves:
        a = np.asarray([v[1] if isinstance(v, tuple | list) else v for v in c], dtype=float)
        if a.ndim != 1 or not np.all(np.isfinite(a)):
            raise ValueError("curves: every curve must be a finite 1-d sequence of values")
        out.append(a)
    if not out:
        raise ValueError("curves: got no curves; give at least one")
    return out


def window_pairs(curves: list[np.ndarray], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows ``(n, window)`` and the next value's change from the window's last."""
    Xs, ys = [], []
    for c in curves:
        if len(c) <= window:
            continue
        W = np.lib.stride_tricks.sliding_window_view(c[:-1], window)
        Xs.append(W)
        ys.append(c[window:] - W[:, -1])
    if not Xs:
        raise ValueError(f"curves: none is longer than window={window}")
    return np.vstack(Xs), np.concatenate(ys)


def _window_features(W: np.ndarray) -> np.ndarray:
    last = W[:, -1:]
    return np.hstack([W - last, last, np.diff(W, axis=1)])


class WindowForest:
    """Random forest next-value model on a fixed window of the curve.

    Parameters
    ----------
    window
        Number of past values the forest sees (default 5).
    n_estimators, min_samples_leaf
        Forest settings (``sklearn.ensemble.RandomForestRegressor``).
    seed
        Seed for the forest.
    """

    def __init__(
        self,
        window: int = 5,
        n_estimators: int = 50,
        min_samples_leaf: int = 3,
        seed: SeedLike = None,
    ):
        if not isinstance(window, int) or window < 2:
            raise ValueError(f"window: got {window!r}; allowed is an int >= 2")
        self.window, self.n_estimators, self.min_samples_leaf = (
            window,
            n_estimators,
            min_samples_leaf,
        )
        self.rng = as_generator(seed)

    def fit(self, curves: Any) -> WindowForest:
        """Train on complete or partial curves (lists of values or ``(step, value)``)."""
        from sklearn.ensemble import RandomForestRegressor

        W, d = window_pairs(_as_curves(curves), self.window)
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            random_state=int(self.rng.integers(2**31 - 1)),
            oob_score=True,
        ).fit(_window_features(W), d)
        oob = self.forest_.oob_prediction_
        ok = np.isfinite(oob)
        resid = (d - oob)[ok] if ok.sum() > 1 else d - self.forest_.predict(_window_features(W))
        self.sigma_ = float(np.std(resid) + 1e-9)  # out-of-bag one-step error
        return self

    def predict(self, curve: Any, horizon: int, direction: str = "minimize") -> CurvePrediction:
        """Roll the curve forward ``horizon`` steps; one sample path per tree."""
        c = _as_curves([curve])[0]
        if len(c) < self.window:
            raise ValueError(f"curve: got {len(c)} values; at least window={self.window} needed")
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ValueError(f"horizon: got {horizon!r}; allowed is an int >= 1")
        trees = self.forest_.estimators_
        S = len(trees)
        state = np.repeat(c[-self.window :][None], S, axis=0)
        out = np.empty((S, horizon))
        for h in range(horizon):
            feats = np.ascontiguousarray(_window_features(state), dtype=np.float32)
            # low-level tree call: one row per tree, no input validation overhead
            step = np.array([t.tree_.predict(feats[i : i + 1])[0, 0] for i, t in enumerate(trees)])
            nxt = state[:, -1] + step
            out[:, h] = nxt
            state = np.hstack([state[:, 1:], nxt[:, None]])
        steps = np.arange(len(c) + 1, len(c) + horizon + 1, dtype=float)
        # out-of-bag one-step error, accumulated like a random walk over the horizon
        sigma = self.sigma_ * np.sqrt(np.arange(1, horizon + 1))[None].repeat(S, axis=0)
        return CurvePrediction(steps, out, sigma, direction)


class LSTMNextValue:
    """LSTM next-value model with MC (variational) dropout for uncertainty.

    Parameters
    ----------
    window
        Past values fed to the LSTM (default 5).
    hidden
        LSTM hidden size.
    dropout
        Dropout rate on the input and on the LSTM output, kept on at prediction time.
    epochs, lr, batch_size
        Training settings (Adam).
    n_mc
        Dropout masks (sample paths) at prediction.
    seed
        Seeds a ``torch.Generator`` (initialization, batches, dropout masks).
    """

    def __init__(
        self,
        window: int = 5,
        hidden: int = 32,
        dropout: float = 0.1,
        epochs: int = 200,
        lr: float = 3e-3,
        batch_size: int = 256,
        n_mc: int = 50,
        seed: SeedLike = None,
    ):
        if not isinstance(window, int) or window < 2:
            raise ValueError(f"window: got {window!r}; allowed is an int >= 2")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: got {dropout!r}; allowed is a rate in [0, 1)")
        self.window, self.hidden, self.dropout = window, hidden, dropout
        self.epochs, self.lr, self.batch_size, self.n_mc = epochs, lr, batch_size, n_mc
        self.rng = as_generator(seed)

    @staticmethod
    def _torch():
        try:
            import torch
        except ImportError as exc:  # pragma: no cover
            raise ImportError("LSTMNextValue needs PyTorch: pip install lowfi[nas]") from exc
        return torch

    def _build(self, torch):
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self, hidden: int, p: float):
                super().__init__()
                self.lstm = nn.LSTM(2, hidden, batch_first=True)
                self.head = nn.Linear(hidden, 1)
                self.p = p

            def forward(self, seq, gen=None):
                # seq: (B, window, 2); variational dropout: one mask per sequence and unit
                if self.p > 0:
                    keep = torch.bernoulli(
                        torch.full((seq.shape[0], 1, seq.shape[2]), 1 - self.p), generator=gen
                    )
                    seq = seq * keep / (1 - self.p)
                h, _ = self.lstm(seq)
                h = h[:, -1]
                if self.p > 0:
                    keep = torch.bernoulli(torch.full_like(h, 1 - self.p), generator=gen)
                    h = h * keep / (1 - self.p)
                return self.head(h)[:, 0]

        return Net(self.hidden, self.dropout)

    def _inputs(self, torch, W: np.ndarray):
        last = W[:, -1:]
        rel = (W - last) / self.scale_
        lvl = np.repeat((last - self.offset_) / self.scale_, W.shape[1], axis=1)
        return torch.as_tensor(np.stack([rel, lvl], axis=-1), dtype=torch.float32)

    def fit(self, curves: Any) -> LSTMNextValue:
        """Train on a set of curves; returns self."""
        torch = self._torch()
        cs = _as_curves(curves)
        W, d = window_pairs(cs, self.window)
        allv = np.concatenate(cs)
        self.offset_ = float(np.mean(allv))
        self.scale_ = float(np.std(allv) + 1e-9)
        self.gen_ = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
        self._pred_seed = int(self.rng.integers(2**62))
        self.net_ = self._build(torch)
        bound = 1.0 / np.sqrt(self.hidden)
        with torch.no_grad():
            for prm in self.net_.parameters():
                prm.uniform_(-bound, bound, generator=self.gen_)
        X = self._inputs(torch, W)
        y = torch.as_tensor(d / self.scale_, dtype=torch.float32)
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        n = len(y)
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=self.gen_)
            for i in range(0, n, self.batch_size):
                idx = perm[i : i + self.batch_size]
                opt.zero_grad()
                loss = torch.mean((self.net_(X[idx], self.gen_) - y[idx]) ** 2)
                loss.backward()
                opt.step()
        with torch.no_grad():
            resid = (self.net_(X, self.gen_) - y).numpy() * self.scale_
        self.sigma_ = float(np.std(resid) + 1e-9)
        return self

    def predict(self, curve: Any, horizon: int, direction: str = "minimize") -> CurvePrediction:
        """Roll forward ``horizon`` steps with ``n_mc`` dropout masks (one path per mask)."""
        torch = self._torch()
        c = _as_curves([curve])[0]
        if len(c) < self.window:
            raise ValueError(f"curve: got {len(c)} values; at least window={self.window} needed")
        state = np.repeat(c[-self.window :][None], self.n_mc, axis=0)
        out = np.empty((self.n_mc, horizon))
        gen = torch.Generator().manual_seed(self._pred_seed)
        with torch.no_grad():
            for h in range(horizon):
                step = self.net_(self._inputs(torch, state), gen).numpy() * self.scale_
                nxt = state[:, -1] + step
                out[:, h] = nxt
                state = np.hstack([state[:, 1:], nxt[:, None]])
        steps = np.arange(len(c) + 1, len(c) + horizon + 1, dtype=float)
        return CurvePrediction(steps, out, self.sigma_, direction)
