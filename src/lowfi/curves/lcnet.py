"""LC-Net-style learning-curve model across configurations (Klein, Falkner, Springenberg &
Hutter, ICLR 2017, "Learning curve prediction with Bayesian neural networks").

A neural network maps a configuration's hyperparameters ``x`` to the parameters ``theta(x)``
of several Domhan et al. curve families and to their mixture weights; its output layer is the
parametric combination ``f(x, t) = sum_k w_k(x) phi_k(t | theta_k(x))``, and a noise head
gives ``sigma(x, t)``. The step enters through the parametric basis (where extrapolation in
``t`` is trustworthy) and through the noise head. It learns from every observed point of
every curve, partial ones included, so it predicts whole curves of configurations that were
never run, and the remainder of partially run ones.

Bayesian treatment: a **deep ensemble** (Lakshminarayanan et al. 2017) of independently
initialized and trained members, each fitting a heteroscedastic Gaussian likelihood; the
predictive distribution is the equal mixture of the members. (The paper samples the network
weights with SGHMC; an ensemble is the cheaper approximation chosen here.)

Needs PyTorch (``pip install lowfi[nas]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.curves.prediction import CurvePrediction, check_direction

#: families of the output layer (bounded, well-conditioned ones) and their parameter boxes
LCNET_FAMILIES = ("pow3", "hill3", "log_power", "mmf", "exp4", "janoschek", "weibull", "ilog2")
_U0 = 0.1


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover
        raise ImportError("LCNet needs PyTorch: pip install lowfi[nas]") from exc
    return torch


def _basis(torch, name: str, lx: Any, x: Any, th: Any) -> Any:
    """Torch version of a family: ``lx = log x`` (B, m), ``th`` (B, p) -> (B, m)."""
    c = [th[:, i : i + 1] for i in range(th.shape[1])]
    ex = lambda z: torch.exp(torch.clamp(z, -50.0, 50.0))  # noqa: E731
    if name == "pow3":
        return c[0] - c[1] * ex(-c[2] * lx)
    if name == "hill3":
        return c[0] / (1 + ex(c[1] * (c[2] - lx)))
    if name == "log_power":
        return c[0] / (1 + ex(c[2] * (lx - c[1])))
    if name == "mmf":
        return c[0] - (c[0] - c[1]) / (1 + ex(c[3] * (c[2] + lx)))
    if name == "exp4":
        return c[0] - ex(-c[1] * ex(c[2] * lx) + c[3])
    if name == "janoschek":
        return c[0] - (c[0] - c[1]) * ex(-c[2] * ex(c[3] * lx))
    if name == "weibull":
        return c[0] - (c[0] - c[1]) * ex(-ex(c[3] * (c[2] + lx)))
    if name == "ilog2":
        return c[0] - c[1] / torch.log(x + 1)
    raise ValueError(f"family: got {name!r}; LCNet supports {', '.join(LCNET_FAMILIES)}")


class LCNet:
    """Bayesian (deep-ensemble) network whose output layer is a parametric curve combination.

    Parameters
    ----------
    direction
        ``"minimize"`` (loss-like values) or ``"maximize"``.
    n_members
        Ensemble size.
    hidden
        Width of the two hidden layers.
    epochs, lr, batch_size
        Adam training settings per member.
    seed
        Seeds one ``torch.Generator`` per member.
    """

    def __init__(
        self,
        direction: str = "minimize",
        n_members: int = 5,
        hidden: int = 32,
        epochs: int = 300,
        lr: float = 3e-3,
        batch_size: int = 512,
        seed: SeedLike = None,
    ):
        self._sign = check_direction(direction)
        self.direction = direction
        if not isinstance(n_members, int) or n_members < 1:
            raise ValueError(f"n_members: got {n_members!r}; allowed is an int >= 1")
        self.n_members, self.hidden, self.epochs = n_members, hidden, epochs
        self.lr, self.batch_size = lr, batch_size
        self.rng = as_generator(seed)

    def _build(self, torch, d: int, gen: Any):
        from lowfi.curves.families import FAMILIES

        nn = torch.nn
        fams = [FAMILIES[n] for n in LCNET_FAMILIES]
        n_theta = sum(f.n_params for f in fams)
        lo = torch.tensor(np.concatenate([f.lower for f in fams]), dtype=torch.float32)
        hi = torch.tensor(np.concatenate([f.upper for f in fams]), dtype=torch.float32)
        guess = np.concatenate([f.guess for f in fams])
        g01 = (guess - lo.numpy()) / (hi - lo).numpy()
        bias0 = torch.tensor(
            np.log(np.clip(g01, 1e-3, 1 - 1e-3) / (1 - np.clip(g01, 1e-3, 1 - 1e-3))),
            dtype=torch.float32,
        )
        K = len(fams)

        class Net(nn.Module):
            def __init__(self, hidden: int):
                super().__init__()
                self.body = nn.Sequential(
                    nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
                )
                self.theta = nn.Linear(hidden, n_theta)
                self.w = nn.Linear(hidden, K)
                self.noise = nn.Linear(hidden + 1, 1)

            def forward(self, X, x, lx):
                h = self.body(X)
                th = lo + (hi - lo) * torch.sigmoid(self.theta(h) + bias0)
                w = torch.softmax(self.w(h), dim=1)
                out, i = 0.0, 0
                for k, f in enumerate(fams):
                    out = out + w[:, k : k + 1] * _basis(
                        torch, f.name, lx, x, th[:, i : i + f.n_params]
                    )
                    i += f.n_params
                # heteroscedastic noise from (x, log-step)
                hs = torch.cat(
                    [h.unsqueeze(1).expand(-1, x.shape[1], -1), (lx / self.lx_scale).unsqueeze(-1)],
                    dim=-1,
                )
                log_sigma = torch.clamp(self.noise(hs)[..., 0], -9.0, 1.0)
                return out, log_sigma

        net = Net(self.hidden)
        with torch.no_grad():
            for prm in net.parameters():
                b = 1.0 / np.sqrt(max(prm.shape[-1], 1))
                prm.uniform_(-b, b, generator=gen)
            net.theta.weight.mul_(0.1)
        return net

    def fit(self, X: Any, curves: list[Any]) -> LCNet:
        """Fit on configurations ``X`` (n, d; encoded hyperparameters, NaN -> -1) and their
        curves: a list of ``(steps, values)`` pairs, partial curves allowed; returns self."""
        torch = _torch()
        X = np.nan_to_num(np.atleast_2d(np.asarray(X, dtype=float)), nan=-1.0)
        if len(curves) != len(X):
            raise ValueError(f"curves: got {len(curves)} curves for {len(X)} configurations")
        rows, xs, ys = [], [], []
        for i, (s, v) in enumerate(curves):
            s, v = np.asarray(s, dtype=float), np.asarray(v, dtype=float)
            if s.shape != v.shape or s.size == 0 or np.any(s <= 0):
                raise ValueError(f"curves[{i}]: steps and values must match, steps > 0")
            rows.append(np.full(s.size, i))
            xs.append(s)
            ys.append(v)
        rows, xs, ys = np.concatenate(rows), np.concatenate(xs), np.concatenate(ys)
        z = self._sign * ys
        self._zmin, self._zscale = float(z.min()), float(max(np.ptp(z), 1e-12))
        u = (z - self._zmin) / self._zscale + _U0
        self._step0 = float(xs.min())
        self._lx_scale = float(np.log(xs.max() / self._step0) + 1.0)
        self._xmean, self._xstd = X.mean(0), X.std(0) + 1e-9
        Xn = torch.tensor((X - self._xmean) / self._xstd, dtype=torch.float32)
        xt = torch.tensor(xs / self._step0, dtype=torch.float32)[:, None]
        ut = torch.tensor(u, dtype=torch.float32)[:, None]
        rt = torch.tensor(rows)
        self.members_ = []
        for _ in range(self.n_members):
            gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
            net = self._build(torch, X.shape[1], gen)
            net.lx_scale = self._lx_scale
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            n = len(ut)
            for _ in range(self.epochs):
                perm = torch.randperm(n, generator=gen)
                for j in range(0, n, self.batch_size):
                    idx = perm[j : j + self.batch_size]
                    mu, ls = net(Xn[rt[idx]], xt[idx], torch.log(xt[idx]))
                    nll = torch.mean(ls + 0.5 * ((ut[idx] - mu) / torch.exp(ls)) ** 2)
                    opt.zero_grad()
                    nll.backward()
                    opt.step()
            net.eval()
            self.members_.append(net)
        return self

    def predict(self, x: Any, steps: Any) -> CurvePrediction:
        """Predictive distribution of the curve of configuration ``x`` (d,) at ``steps``."""
        torch = _torch()
        x = np.nan_to_num(np.asarray(x, dtype=float).reshape(1, -1), nan=-1.0)
        t = np.atleast_1d(np.asarray(steps, dtype=float))
        scalar = np.ndim(steps) == 0
        Xn = torch.tensor((x - self._xmean) / self._xstd, dtype=torch.float32)
        xt = torch.tensor(t / self._step0, dtype=torch.float32)[None]
        f, sig = [], []
        with torch.no_grad():
            for net in self.members_:
                mu, ls = net(Xn, xt, torch.log(xt))
                f.append(mu[0].numpy())
                sig.append(float(torch.exp(ls[0, -1])))
        f = np.asarray(f, dtype=float)
        f_user = self._sign * ((f - _U0) * self._zscale + self._zmin)
        return CurvePrediction(
            t, f_user, np.asarray(sig) * self._zscale, self.direction, scalar=scalar
        )

    def predict_final(self, X: Any, T: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation at step ``T`` for many configurations ``X`` (n, d)."""
        torch = _torch()
        X = np.nan_to_num(np.atleast_2d(np.asarray(X, dtype=float)), nan=-1.0)
        Xn = torch.tensor((X - self._xmean) / self._xstd, dtype=torch.float32)
        xt = torch.full((len(X), 1), float(T) / self._step0)
        mus, sig = [], []
        with torch.no_grad():
            for net in self.members_:
                mu, ls = net(Xn, xt, torch.log(xt))
                mus.append(mu[:, 0].numpy())
                sig.append(torch.exp(ls[:, 0]).numpy())
        mus, sig = np.asarray(mus, dtype=float), np.asarray(sig, dtype=float)
        mean_u = mus.mean(0)
        std_u = np.sqrt(mus.var(0) + (sig**2).mean(0))
        return self._sign * ((mean_u - _U0) * self._zscale + self._zmin), std_u * self._zscale
