"""Freeze-thaw BO against Hyperband, ASHA, BOHB and lowfi's default optimizer ("auto") at equal
epochs trained, on recorded learning curves (LCBench, or with ``--data torch-mlp-digits``
lowfi's own recorded PyTorch MLP curves, see :class:`EpochCurves`).

The problem: 200 configurations of LCBench task 3945 with their whole 50-epoch validation-error
curves (``benchmarks/data/curves_lcbench.npz``). The search space is the 7 hyperparameters
(log batch size, log learning rate, momentum, weight decay, layers, log units, dropout) over
the recorded ranges; a configuration is scored by the recorded curve of its nearest recorded
configuration (standardized Euclidean distance). A trial at budget ``b`` epochs returns the
error after ``round(b)`` epochs and the curve since its resume point.

**Epochs are continued, not restarted**, for every method: a trial is charged the epochs
between the most its configuration (``config_id``) has already trained and its budget, so a
Hyperband promotion or a freeze-thaw thaw costs only the extra epochs. Each run is a sequential
ask/evaluate/tell loop until ``--epochs`` epochs are trained; at milestones the regret of
``incumbent()`` (best error measured at 50 epochs; before any, at the highest budget reached)
is its recorded final error minus the best final error of the 200 configurations. For
freeze-thaw the model's ``recommend()`` is scored too.

    nice -n 10 python benchmarks/freeze_thaw_lcbench.py --seeds 10 --epochs 500 \
        --out /tmp/ft_lcbench.json

Seeds can run in separate processes (``--first-seed``) and be summarized together
(``--load a.json b.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from lowfi.core.trial import Result  # noqa: E402
from lowfi.optimizers import get  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "curves_lcbench.npz"
INTS = {"num_layers"}


class LCBenchCurves:
    """Nearest-recorded-configuration lookup of whole learning curves."""

    min_budget, max_budget, eta = 2.0, 50.0, 3.0

    def __init__(self, path: Path = DATA):
        with np.load(path, allow_pickle=True) as z:
            self.X, self.curves = z["X"].astype(float), z["curves"].astype(float)
            self.names = [str(n) for n in z["names"]]
        self._index(INTS)

    def _index(self, ints: set | tuple) -> None:
        """The numerical ranges of the recorded configurations (integers for ``ints``), their
        standardization, and the final values."""
        lo, hi = self.X.min(0), self.X.max(0)
        self.space = {n: ((int(a), int(b)) if n in ints else (float(a), float(b)))
                      for n, a, b in zip(self.names, lo, hi)}
        self._mu, self._sd = self.X.mean(0), self.X.std(0)
        self.final = self.curves[:, -1]
        self.optimum = float(self.final.min())

    def _distances(self, config: dict) -> np.ndarray:
        x = (np.array([float(config[n]) for n in self.names]) - self._mu) / self._sd
        return (((self.X - self._mu) / self._sd - x) ** 2).sum(1)

    def row(self, config: dict) -> int:
        return int(np.argmin(self._distances(config)))

    def evaluate(self, config: dict, budget: float, resume_from: float = 0.0) -> Result:
        i = self.row(config)
        e = int(min(max(round(budget), 1), self.curves.shape[1]))
        e0 = int(min(max(round(resume_from), 0), e - 1))
        curve = [(float(s), float(self.curves[i, s - 1])) for s in range(e0 + 1, e + 1)]
        return Result(float(self.curves[i, e - 1]), cost=float(e - e0), curve=curve)

    def test_loss(self, config: dict) -> float:
        return float(self.final[self.row(config)])


class EpochCurves(LCBenchCurves):
    """The recorded PyTorch MLP curves on digits that ship with lowfi
    (``lowfi.curves.load_epoch_curves("torch-mlp-digits")``: 100 configurations, 60 epochs,
    validation error): numerical hyperparameters on the log scale where they span orders of
    magnitude, and the categorical ones (activation, optimizer, learning-rate schedule). A
    configuration is scored by the nearest recorded one among those with the same
    categorical values (standardized Euclidean distance over the numerical ones; when none
    shares them all, the fewest mismatches first)."""

    min_budget, max_budget, eta = 2.0, 60.0, 3.0
    LOG = ("lr", "batch_size", "weight_decay", "width")
    NUM = ("lr", "batch_size", "weight_decay", "width", "dropout", "gamma", "layers")
    CAT = ("activation", "optimizer", "schedule")

    def __init__(self, kind: str = "torch-mlp-digits"):
        from lowfi.curves import load_epoch_curves

        d = load_epoch_curves(kind)
        hps = list(d["hyperparameters"])
        self.names = list(self.NUM)
        self.X = np.array([[np.log(h[n]) if n in self.LOG else float(h[n]) for n in self.NUM]
                           for h in hps])
        self.C = np.array([[str(h[c]) for c in self.CAT] for h in hps], dtype=object)
        self.curves = np.array([np.asarray(c, dtype=float) for c in d["curves"]])
        self._index(("layers",))
        self.space.update({c: sorted({str(v) for v in self.C[:, j]}) for j, c in enumerate(self.CAT)})

    def row(self, config: dict) -> int:
        d = self._distances(config)
        mismatches = (self.C != np.array([str(config[c]) for c in self.CAT])).sum(1)
        return int(np.lexsort((d, mismatches))[0])


class LCDBCurves(LCBenchCurves):
    """LCDB 1.0 training-set-size curves of one OpenML dataset (Mohr et al. 2022; read with
    :func:`lowfi.benchmarks.lcdb.lcdb`, data found through ``--lcdb`` or its usual fallbacks):
    the configuration is the learner (one categorical of 19-20 scikit-learn classifiers), a
    step is one anchor of the training-set-size grid (about x sqrt(2) each), and the loss the
    seed-averaged validation error there. Steps are charged as if training continued from
    the previous anchor (one unit per anchor), the same for every method; a real learner
    would be refitted on the larger subset."""

    min_budget, eta = 2.0, 3.0
    # datasets whose 19-20 learners all reach all 20 anchors; seed s runs on DATASETS[s % 10]
    DATASETS = (26, 734, 846, 1120, 1477, 41159, 41161, 722, 959, 1053)

    def __init__(self, openmlid: int, path: str | None = None):
        from lowfi.benchmarks.lcdb import lcdb

        b = lcdb(openmlid, data_path=path)
        k = len(b.anchors)
        self.learners = list(b.learners)
        curves = [b.curve({"learner": name})[1] for name in self.learners]
        if any(len(c) != k for c in curves):
            raise ValueError(f"openmlid: LCDB dataset {openmlid} has learners that stop before "
                             f"its last anchor; pick one of {self.DATASETS}")
        self.curves = np.stack(curves)
        self.max_budget = float(k)
        self.names = []
        self.space = {"learner": self.learners}
        self.final = self.curves[:, -1]
        self.optimum = float(np.nanmin(self.final))
        self.openmlid = openmlid

    def row(self, config: dict) -> int:
        return self.learners.index(config["learner"])


PROBLEMS = {"lcbench": LCBenchCurves, "torch-mlp-digits": EpochCurves, "lcdb": LCDBCurves}


def make(method: str, bench: LCBenchCurves, seed: int):
    kw = dict(min_budget=bench.min_budget, max_budget=bench.max_budget, eta=bench.eta, seed=seed)
    if method == "freeze-thaw":
        return get("freeze-thaw", bench.space, step=2.0, **kw)
    if method == "freeze-thaw-ei":
        return get("freeze-thaw", bench.space, step=2.0, decision="ei", **kw)
    return get(method, bench.space, **kw)


def run(method: str, bench: LCBenchCurves, seed: int, epochs: float, milestones: np.ndarray) -> dict:
    opt = make(method, bench, seed)
    trained: dict[int, float] = {}
    spent, k, n, overhead = 0.0, 0, 0, 0.0
    inc_regret = [math.nan] * len(milestones)
    rec_regret = [math.nan] * len(milestones)

    def score() -> tuple[float, float]:
        inc = opt.incumbent()
        a = bench.test_loss(inc[0]) - bench.optimum if inc is not None else math.nan
        if hasattr(opt, "recommend"):
            rec = opt.recommend()
            b = bench.test_loss(rec[0]) - bench.optimum if rec is not None else math.nan
        else:
            b = a
        return a, b

    while spent < epochs:
        t0 = time.perf_counter()
        trial = opt.ask()
        overhead += time.perf_counter() - t0
        if trial is None:
            break
        done = trained.get(trial.config_id, 0.0)
        start = trial.info.get("resume_from_step", done)
        res = bench.evaluate(trial.config, trial.budget, resume_from=min(start, done))
        cost = max(round(trial.budget) - round(done), 0)
        trained[trial.config_id] = max(done, float(round(trial.budget)))
        while k < len(milestones) and spent + cost > milestones[k]:
            inc_regret[k], rec_regret[k] = score() if n else (math.nan, math.nan)
            k += 1
        opt.tell(trial, Result(res.loss, cost=float(cost), curve=res.curve))
        spent += cost
        n += 1
    final = score()
    while k < len(milestones):
        inc_regret[k], rec_regret[k] = final
        k += 1
    inc = opt.history.incumbent(bench.max_budget)
    return dict(method=method, seed=seed, inc_regret=inc_regret, rec_regret=rec_regret, n=n,
                overhead_s=overhead, configs=len(trained),
                at_max=bool(inc is not None and inc.budget == bench.max_budget))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=float, default=500.0)
    ap.add_argument("--methods", default="freeze-thaw,freeze-thaw-ei,hyperband,asha,bohb,auto")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--data", default="lcbench", choices=sorted(PROBLEMS),
                    help="the recorded curves: LCBench task 3945 (50 epochs) or lowfi's PyTorch "
                         "MLPs on digits (60 epochs), or LCDB's training-set-size curves (seed s "
                         "on the s-th of 10 datasets, 20 anchors)")
    ap.add_argument("--lcdb", default=None, help="folder or file of LCDB's accuracy table")
    ap.add_argument("--out", default=None)
    ap.add_argument("--load", nargs="+", default=None, help="summarize these result files")
    a = ap.parse_args(argv)
    def bench_for(seed: int) -> LCBenchCurves:
        if a.data == "lcdb":
            return LCDBCurves(LCDBCurves.DATASETS[seed % len(LCDBCurves.DATASETS)], a.lcdb)
        return PROBLEMS[a.data]()

    bench = None if a.load or a.data == "lcdb" else bench_for(a.first_seed)
    methods = a.methods.split(",")
    milestones = np.array([m for m in (100, 200, 300, 500, 750, 1000, 1500, 2000) if m < a.epochs]
                          + [a.epochs])
    res: dict = {m: [] for m in methods}
    if a.load:
        for path in a.load:
            with open(path) as fh:
                d = json.load(fh)
            milestones = np.array(d["milestones"])
            for m, rows in d["results"].items():
                res.setdefault(m, []).extend(rows)
        methods = [m for m in res if res[m]]
        done = set.intersection(*({r["seed"] for r in res[m]} for m in methods))
        res = {m: [r for r in res[m] if r["seed"] in done] for m in methods}  # complete seeds only
    else:
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            bench = bench_for(seed)
            for m in methods:
                res[m].append(run(m, bench, seed, a.epochs, milestones))
                if a.out:
                    with open(a.out, "w") as fh:
                        json.dump(dict(milestones=milestones.tolist(), results=res), fh)
    n_seeds = min(len(res[m]) for m in methods)
    if bench is None or a.data == "lcdb":
        print(f"{a.data}: regret of the final validation error (LCDB: at the last anchor, one "
              f"dataset per seed), median over {n_seeds} seeds")
    else:
        print(f"{a.data} ({len(bench.final)} recorded curves, {bench.curves.shape[1]} epochs), "
              f"regret of the final validation error, median over {n_seeds} seeds; best final "
              f"error {bench.optimum:.4f}")
    print(f"{'epochs trained':22s}" + "".join(f"{m:>8g}" for m in milestones)
          + f"{'configs':>8s}{'s/ask':>7s}{'at max':>7s}{'mean':>8s}{'best':>6s}")
    for m in methods:
        for key, label in (("inc_regret", "incumbent"), ("rec_regret", "recommend")):
            if key == "rec_regret" and not m.startswith("freeze"):
                continue
            R = np.array([r[key] for r in res[m]])
            med = np.nanmedian(R, axis=0)
            cfg = np.median([r["configs"] for r in res[m]])
            spa = sum(r["overhead_s"] for r in res[m]) / max(sum(r["n"] for r in res[m]), 1)
            at = np.mean([r["at_max"] for r in res[m]])
            # mean regret at the end, and the seeds whose final regret is 0 (the best found)
            print(f"{m + ' ' + label:22s}" + "".join(f"{v:8.4f}" for v in med)
                  + f"{cfg:8.0f}{spa:7.2f}{at:7.0%}{np.nanmean(R[:, -1]):8.4f}"
                  + f"{int((R[:, -1] <= 1e-12).sum()):>3d}/{len(R)}", flush=True)


if __name__ == "__main__":
    main()
