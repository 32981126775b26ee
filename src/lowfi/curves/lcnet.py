"""LC-Net-style learning-curve model across configurations (Klein, Falkner, Springenberg &
Hutter, ICLR 2017, "Learning curve prediction with Bayesian neural networks").

A neural network maps a configuration's hyperparameters ``x`` to the parameters ``theta(x)``
of several Domhan et al. curve families and to their mixture weights; its output layer is the
parametric combination ``f(x, t) = sum_k w_k(x) phi_k(t | theta_k(x))``, and a noise head
gives ``sigma(x, t)``. The step enters through the parametric basis (where extrapolation in
``t`` is trustworthy) and through the noise head. It learns from every observed point of
every curve, partial ones included, so it predicts whole curves of configurations that were
never run, and the remainder of partially run ones.

Bayesian treatment (``method=``):

``"sghmc"`` (default; the paper's) -- the network is a Bayesian neural network whose weights
    are sampled with the scale-adapted stochastic-gradient HMC of BOHAMIANN (Springenberg et al.
    2016), the sampler of :class:`lowfi.models.bnn.Bohamiann`
    (:class:`lowfi.models.bnn.ScaleAdaptedSGHMC`): potential = the heteroscedastic Gaussian
    negative log likelihood of all curve points (mini-batch estimate scaled to the data), a
    Gaussian prior on the weights with one precision per weight matrix (Gamma(1, 1)
    hyperprior, Gibbs-resampled; biases N(0, 100)), and BOHAMIANN's N(log 1e-3, 1) prior on
    each point's log noise variance (values scaled to [0.1, 1.1]). After ``n_burn_in`` steps every
    ``keep_every``-th network is kept.
``"ensemble"`` -- a deep ensemble (Lakshminarayanan et al. 2017) of ``n_members``
    independently initialized networks trained by Adam.

Either way the predictive distribution is the equal mixture of the kept networks (or
members), each a Gaussian with its own mean curve and noise.

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


METHODS = ("sghmc", "ensemble")


class LCNet:
    """Bayesian neural network whose output layer is a parametric curve combination.

    Parameters
    ----------
    direction
        ``"minimize"`` (loss-like values) or ``"maximize"``.
    n_members
        Ensemble size (``method="ensemble"``).
    hidden
        Width of the two hidden layers.
    epochs, lr, batch_size
        Adam training settings per member (``method="ensemble"``).
    seed
        Seeds the initialization, mini-batches and (SGHMC) injected noise.
    method
        ``"sghmc"`` (weights sampled by BOHAMIANN's scale-adapted SGHMC) or ``"ensemble"``.
    n_burn_in, n_samples, keep_every, sghmc_batch_size, sghmc_lr, friction
        SGHMC settings (``method="sghmc"``): steps before networks are kept, networks kept,
        steps between kept networks, mini-batch of the stochastic gradients, step size and
        friction (BOHAMIANN's 1e-2 and 0.05).
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
        method: str = "sghmc",
        n_burn_in: int = 2000,
        n_samples: int = 20,
        keep_every: int = 50,
        sghmc_batch_size: int = 64,
        sghmc_lr: float = 1e-2,
        friction: float = 0.05,
    ):
        self._sign = check_direction(direction)
        self.direction = direction
        if method not in METHODS:
            raise ValueError(f"method: got {method!r}; allowed are {', '.join(METHODS)}")
        for name, v, lo in (("n_members", n_members, 1), ("hidden", hidden, 1), ("epochs", epochs, 1),
                            ("batch_size", batch_size, 1), ("n_burn_in", n_burn_in, 0),
                            ("n_samples", n_samples, 1), ("keep_every", keep_every, 1),
                            ("sghmc_batch_size", sghmc_batch_size, 1)):
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"{name}: got {v!r}; allowed is an int >= {lo}")
        for name, v in (("sghmc_lr", sghmc_lr), ("friction", friction)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
                raise ValueError(f"{name}: got {v!r}; it must be a number in (0, 1)")
        self.method = method
        self.n_members, self.hidden, self.epochs = n_members, hidden, epochs
        self.lr, self.batch_size = lr, batch_size
        self.n_burn_in, self.n_samples, self.keep_every = n_burn_in, n_samples, keep_every
        self.sghmc_batch_size = sghmc_batch_size
        self.sghmc_lr, self.friction = float(sghmc_lr), float(friction)
        #: prior of the log noise variance of the curve values scaled to [0.1, 1.1]: N(log 1e-3, 1)
        self.log_noise_prior = (float(np.log(1e-3)), 1.0)
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
            if not (np.all(np.isfinite(s)) and np.all(np.isfinite(v))):
                raise ValueError(f"curves[{i}]: got non-finite steps or values (a diverged "
                                 "run?); all must be finite: drop those points or the curve")
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
        if self.method == "sghmc":
            self._sample(torch, X.shape[1], Xn, xt, ut, rt)
            return self
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

    def _sample(self, torch, d: int, Xn: Any, xt: Any, ut: Any, rt: Any) -> None:
        """Networks sampled by scale-adapted SGHMC (BOHAMIANN's sampler) into ``members_``."""
        import copy

        from lowfi.models.bnn import ScaleAdaptedSGHMC

        gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
        net = self._build(torch, d, gen)
        net.lx_scale = self._lx_scale
        params = list(net.parameters())
        vec = torch.nn.utils.parameters_to_vector
        theta = vec(params).detach().double().numpy().copy()
        # one prior precision per weight matrix (Gibbs-resampled), a weak fixed one for biases
        blocks, k = [], 0
        for prm in params:
            blocks.append((slice(k, k + prm.numel()), prm.dim() > 1))
            k += prm.numel()
        prec = np.array([0.0] * len(theta))
        for sl, is_w in blocks:
            prec[sl] = 1.0 if is_w else 1e-2
        rng = self.rng
        sampler = ScaleAdaptedSGHMC(len(theta), lr=self.sghmc_lr, friction=self.friction, rng=rng)
        n = len(ut)
        B = min(self.sghmc_batch_size, n)
        order, pos = rng.permutation(n), 0
        logx = torch.log(xt)
        theta0 = theta.copy()
        for step in range(self.n_burn_in + self.n_samples * self.keep_every):
            if pos + B > n:
                order, pos = rng.permutation(n), 0
            idx = torch.from_numpy(order[pos:pos + B])
            pos += B
            torch.nn.utils.vector_to_parameters(torch.from_numpy(theta).float(), params)
            mu, ls = net(Xn[rt[idx]], xt[idx], logx[idx])
            nll = (n / B) * torch.sum(ls + 0.5 * ((ut[idx] - mu) / torch.exp(ls)) ** 2)
            # BOHAMIANN's prior on the log noise variance, N(log 1e-3, 1), for every point's
            # noise (the noise head's output): without it the samples explain curves by noise
            nll = nll + (n / B) * torch.sum(
                0.5 * ((2.0 * ls - self.log_noise_prior[0]) / self.log_noise_prior[1]) ** 2)
            net.zero_grad()
            nll.backward()
            grad = vec([p.grad for p in params]).double().numpy() + prec * theta
            theta = sampler.step(theta, grad, adapt=step < self.n_burn_in)
            if not np.all(np.isfinite(theta)):  # diverged: restart from the initialization
                theta = theta0.copy()
                sampler.momentum[:] = 0.0
            if (step + 1) % 100 == 0:  # Gibbs step of the weight precisions, Gamma(1, 1) prior
                for sl, is_w in blocks:
                    if is_w:
                        m = sl.stop - sl.start
                        prec[sl] = rng.gamma(1.0 + m / 2.0, 1.0 / (1.0 + float(np.sum(theta[sl] ** 2)) / 2.0))
            if step >= self.n_burn_in and (step + 1 - self.n_burn_in) % self.keep_every == 0:
                member = copy.deepcopy(net)
                torch.nn.utils.vector_to_parameters(torch.from_numpy(theta).float(),
                                                    list(member.parameters()))
                member.eval()
                self.members_.append(member)

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
