"""LC-Net's Bayesian treatments compared on real learning curves: SGHMC-sampled weights
(BOHAMIANN's sampler, the paper's) against a deep ensemble.

Protocol (Klein et al. 2017, section 4.1, "predicting unseen and partially observed curves"):
for each seed the configurations of a curve set are split into three parts: ``--train`` whole
curves, ``--partial`` curves observed only for their first ``--observed`` steps, and the rest
never observed. Both models fit the whole and partial curves; they predict the final value of
the partial curves (extrapolation) and of the unseen configurations (the "new configuration"
task). Reported: mean absolute error of the predictive mean and mean log predictive density
(the mixture of the kept networks' Gaussians) of the true final value, and fit seconds.

    nice -n 10 python benchmarks/lcnet_compare.py --data lcbench,torch-mlp-digits --seeds 3
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoded hyperparameters (n, d), curves (n, T) and steps (T,) of a shipped curve set."""
    if name == "lcbench":
        here = os.path.dirname(os.path.abspath(__file__))
        with np.load(os.path.join(here, "data", "curves_lcbench.npz"), allow_pickle=True) as z:
            C = z["curves"].astype(float)
            return z["X"].astype(float), C, np.arange(1, C.shape[1] + 1, dtype=float)
    from lowfi.curves.data import load_epoch_curves

    d = load_epoch_curves(name)
    hp = d["hyperparameters"]
    keys = sorted(k for k in hp[0] if isinstance(hp[0][k], int | float) and k not in
                  ("cpu_seconds", "split_seed"))
    X = np.array([[float(h.get(k, np.nan)) for k in keys] for h in hp])
    pos = (X > 0).all(0)
    X[:, pos] = np.log(X[:, pos])  # rates, sizes: log scale
    return X, d["curves"], d["epochs"]


def mixture_logpdf(model, X: np.ndarray, T: float, y: np.ndarray) -> np.ndarray:
    """Log density of ``y`` under the equal mixture of the kept networks' Gaussians at step T."""
    import torch

    Xn = torch.tensor((np.nan_to_num(X, nan=-1.0) - model._xmean) / model._xstd, dtype=torch.float32)
    xt = torch.full((len(X), 1), float(T) / model._step0)
    mus, sig = [], []
    with torch.no_grad():
        for net in model.members_:
            mu, ls = net(Xn, xt, torch.log(xt))
            mus.append(mu[:, 0].double().numpy())
            sig.append(torch.exp(ls[:, 0]).double().numpy())
    from lowfi.curves.lcnet import _U0

    mus = model._sign * ((np.array(mus) - _U0) * model._zscale + model._zmin)
    sig = np.array(sig) * model._zscale
    lp = -0.5 * ((y[None] - mus) / sig) ** 2 - np.log(sig) - 0.5 * np.log(2 * np.pi)
    m = lp.max(0)
    return m + np.log(np.exp(lp - m).mean(0))


def main(argv: list[str] | None = None) -> None:
    import torch

    from lowfi.curves.lcnet import LCNet

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="lcbench,torch-mlp-digits")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--train", type=float, default=0.4, help="share of whole training curves")
    ap.add_argument("--partial", type=float, default=0.3, help="share of partial curves")
    ap.add_argument("--observed", type=float, default=0.2, help="share of steps of a partial curve")
    ap.add_argument("--methods", default="sghmc,ensemble")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    print("| curves | model | final-value MAE, partial | MAE, unseen | log density, partial | "
          "log density, unseen | fit s |")
    print("|---|---|---|---|---|---|---|")
    for name in a.data.split(","):
        X, C, steps = load(name)
        T = float(steps[-1])
        res: dict[str, list] = {m: [] for m in a.methods.split(",")}
        for seed in range(a.seeds):
            rng = np.random.default_rng(seed)
            perm = rng.permutation(len(X))
            n_tr, n_pa = int(a.train * len(X)), int(a.partial * len(X))
            tr, pa, un = perm[:n_tr], perm[n_tr:n_tr + n_pa], perm[n_tr + n_pa:]
            k = max(2, int(a.observed * len(steps)))
            idx = np.concatenate([tr, pa])
            curves = [(steps, C[i]) for i in tr] + [(steps[:k], C[i, :k]) for i in pa]
            for m in res:
                t0 = time.process_time()
                model = LCNet(method=m, seed=seed).fit(X[idx], curves)
                fit_s = time.process_time() - t0
                row = []
                for part in (pa, un):
                    mean, _ = model.predict_final(X[part], T)
                    row.append(float(np.mean(np.abs(mean - C[part, -1]))))
                for part in (pa, un):
                    row.append(float(np.mean(mixture_logpdf(model, X[part], T, C[part, -1]))))
                res[m].append(row + [fit_s])
        for m, rows in res.items():
            r = np.array(rows)
            mean, sd = r.mean(0), r.std(0)
            cells = " | ".join(f"{v:.4g} +- {s:.2g}" for v, s in zip(mean[:4], sd[:4]))
            print(f"| {name} ({len(X)} curves, {a.seeds} splits) | {m} | {cells} | {mean[4]:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
