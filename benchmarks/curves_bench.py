"""Final-value prediction on real learning curves: the fast default against MCMC and baselines.

Curves: the per-epoch validation-error curves shipped in ``lowfi/data/curves`` (recorded by
``benchmarks/curves_record.py``; one "kind" per model family and data set) and LCDB 1.0's
training-set-size curves (``--lcdb PATH``, a folder holding ``database-accuracy.csv.gz``).

Protocol: the curves of every epoch kind are split at random (``--seed``) into a calibration
half and a held-out half. ``--calibrate`` fits the constants of
``lowfi.curves.fast.CALIBRATION`` and ``WIDTH`` on the calibration halves (see
:func:`calibrate`) and prints them; the table reports the held-out halves only, with the
shipped constants. A second table (``--loko``) reports every epoch kind with constants fitted
on the other kinds only (leave one kind out); a third (``--swap``) the coverage on both
halves, the calibration halves predicted with constants fitted on the held-out halves. LCDB
is never used for calibration (a held-out kind throughout).

From 10%, 20% and 40% of each curve (the points up to that fraction of the final step --
epochs, or training-set size for LCDB -- at least 3) the final value is predicted by:
the last observed value; the fast extrapolator (batched); the best single Domhan family
(least squares, the family with the lowest MAE on that kind, picked on the evaluated curves);
and Domhan et al.'s MCMC ensemble on the first ``--mcmc-n`` held-out curves of every kind.
Metrics: mean absolute error, mean log predictive density of the final value, coverage of the
central 90% interval, median time per curve (fast: one-by-one on one core, and batched).

Run::

    nice -n 10 python benchmarks/curves_bench.py --lcdb ../shared/data/lcdb --calibrate
    nice -n 10 python benchmarks/curves_bench.py --lcdb ../shared/data/lcdb --mcmc-n 50 \\
        --mcmc-n-lcdb 300 --loko --swap --json benchmarks/data/curves_bench.json

(``--mcmc-from benchmarks/data/curves_bench.json`` reuses the MCMC columns of an earlier run
with the same ``--seed``, ``--mcmc-n`` and ``--mcmc-n-lcdb`` instead of rerunning MCMC.)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from lowfi.curves import DomhanExtrapolator
from lowfi.curves.data import load_epoch_curves, load_lcdb_curves
from lowfi.curves.fast import CALIBRATION, FastExtrapolator, _t_mixture

CUTS = (0.1, 0.2, 0.4)
SPREAD_CUTS = (0.1, 0.2, 0.4, 0.7)  # stages 2 and 3 of the calibration
BOUNDS = (0.0, 1.0)
ROOT = Path(__file__).resolve().parents[1]


def kinds_of(lcdb: str | None, seed: int) -> dict[str, dict]:
    """``{kind: {"cal": [(steps, values)], "test": [...]}}``."""
    d = load_epoch_curves()
    out = {}
    rng = np.random.default_rng(seed)
    for kind in sorted(set(d["kinds"])):
        C = d["curves"][d["kinds"] == kind]
        curves = [(d["epochs"], c) for c in C]
        perm = rng.permutation(len(curves))
        half = len(curves) // 2
        out[kind] = {"cal": [curves[i] for i in perm[:half]],
                     "test": [curves[i] for i in perm[half:]]}
    if lcdb is not None:
        lc = load_lcdb_curves(lcdb, n=300, seed=seed)
        out["lcdb"] = {"cal": [], "test": list(zip(lc["steps"], lc["values"], strict=True))}
    return out


def cut_points(steps: np.ndarray, cut: float) -> int:
    """Points observed at ``cut`` of the curve: steps up to ``cut`` x the final step (>= 3)."""
    return max(3, int(np.sum(steps <= cut * steps[-1] + 1e-9)))


def observed(curves, cut):
    obs = [(s[: cut_points(s, cut)], v[: cut_points(s, cut)]) for s, v in curves]
    finals = np.array([v[-1] for _, v in curves])
    T = np.array([s[-1] for s, _ in curves], dtype=float)
    last = np.array([v[-1] for _, v in obs])
    return obs, T, finals, last


def stages(ext: FastExtrapolator, curves, cut):
    obs, T, finals, last = observed(curves, cut)
    parts = [ext._fit_all(obs[i : i + 64], T[i : i + 64, None]) for i in range(0, len(obs), 64)]
    return parts, finals, last


def t_ll(ext, parts, finals, cal, posts=None):
    """Log predictive density of ``finals`` under the extrapolator's Student-t mixture."""
    posts = posts or [None] * len(parts)
    outs = [ext._combine(p, cal, q) for p, q in zip(parts, posts, strict=True)]
    mu = np.concatenate([o["mean"][:, 0] for o in outs])
    sc = np.concatenate([o["scale"][:, 0] for o in outs])
    scales, weights = _t_mixture(cal["nu"], ext.n_mixture)
    sig = np.maximum(sc[:, None] * scales[None], 1e-12)
    lp = (-0.5 * ((finals - mu)[:, None] / sig) ** 2 - np.log(sig) - 0.5 * np.log(2 * np.pi)
          + np.log(weights)[None])
    return logsumexp(lp, axis=1), mu, sc


TEMPERATURES = (1.0, 1.5, 2.0, 3.0, 4.5, 7.0, 10.0)
SHRINKS = tuple(np.round(np.arange(0.3, 1.501, 0.05), 2))
SCALE_PARAMS = ("noise", "change", "spread", "headroom", "quantum")
SCALE_START = {"noise": 1.0, "change": 0.01, "spread": 1.0, "headroom": 0.1, "quantum": 1.0}
NU = 5.0  # Student-t degrees of freedom, fixed: the scores barely change with it


def calibrate(ext, data, kinds, cuts=CUTS, temperatures=TEMPERATURES,
              shrinks=SHRINKS, spread_cuts=SPREAD_CUTS) -> tuple[dict[str, float], dict[float, float]]:
    """Fit the constants of the fast model on the curves of ``kinds`` (calibration halves):
    ``(CALIBRATION, WIDTH)`` of ``lowfi.curves.fast``.

    1. The centre (the predictive median): ``temperature`` and ``shrink`` on a grid,
       minimizing the worst kind's MAE relative to the last-value baseline (mean over the
       cut-offs) -- a minimax choice, so that no kind of curve is sacrificed for the others.
    2. The spread: ``noise, change, spread, headroom, quantum`` by Nelder-Mead (from a fixed
       start, restarted once from its optimum), minimizing the sum of two proper scoring rules
       per (kind, cut-off) group over the cut-offs ``spread_cuts`` (also 70%, where stopping
       rules decide too), groups weighing equally: the negative mean log-likelihood of
       the final values, and the interval score of the central 90% interval (Gneiting &
       Raftery 2007: width plus 20 x the miss; proper for the 5% and 95% quantiles, which the
       stopping rules use), divided by the group's last-value MAE. The Student-t degrees of
       freedom are fixed at ``NU``: fitted too, they wandered between 4 and 11 from one start
       to the next with the scores nearly unchanged, and the other constants with them.
    3. The width per fraction observed (split conformal calibration, Lei et al., JASA 2018):
       for every cut-off of ``spread_cuts``, the multiplier of the spread is the 90% quantile of
       ``|final - centre| / half-width of the 90% interval`` over the calibration curves, each
       kind weighing equally (level raised to ``0.9 (n + 1) / n`` for ``n`` curves), so that
       the central 90% interval covers 90% of calibration curves at that fraction.
    """
    # stages 1 and 2 fit the spread before any width multiplier
    ext = FastExtrapolator(direction=ext.direction, bounds=ext.bounds, n_mixture=ext.n_mixture,
                           width={1.0: 1.0})
    sets = {(k, c): stages(ext, data[k]["cal"], c) for k in kinds
            for c in dict.fromkeys(cuts + spread_cuts)}
    best = (np.inf, None, None, None)
    for temp in temperatures:
        posts = {g: [ext._family_posteriors(q, temp) for q in p] for g, (p, _, _) in sets.items()}
        for shrink in shrinks:
            cal = dict(CALIBRATION, temperature=temp, shrink=float(shrink))
            worst = 0.0
            for k in kinds:
                ratios = []
                for c in cuts:
                    p, f, last = sets[(k, c)]
                    mu = np.concatenate([ext._combine(q, cal, ps)["mean"][:, 0]
                                         for q, ps in zip(p, posts[(k, c)], strict=True)])
                    ratios.append(np.mean(np.abs(mu - f)) / max(np.mean(np.abs(last - f)), 1e-12))
                worst = max(worst, float(np.mean(ratios)))
            if worst < best[0]:
                best = (worst, temp, float(shrink), posts)
    _, temp, shrink, posts = best

    def unpack(z):
        cal = {k: float(np.exp(np.clip(v, -20, 20))) for k, v in zip(SCALE_PARAMS, z, strict=True)}
        return {**CALIBRATION, "temperature": temp, "shrink": shrink, "nu": NU, **cal}

    def loss(z):
        cal = unpack(z)
        q90 = float(_t_quantile95(cal["nu"], ext.n_mixture))
        total = 0.0
        for g, (p, f, last) in sets.items():
            ll, mu, sc = t_ll(ext, p, f, cal, posts[g])
            lo, hi = mu - q90 * sc, mu + q90 * sc
            score = (hi - lo) + 20.0 * np.maximum(lo - f, 0) + 20.0 * np.maximum(f - hi, 0)
            total += (np.mean(score) / max(np.mean(np.abs(last - f)), 1e-12)) - np.mean(ll)
        return total / len(sets)

    # a fixed start (not the shipped constants), and one restart from the first optimum
    z = np.log([SCALE_START[k] for k in SCALE_PARAMS])
    for _ in range(2):
        z = minimize(loss, z, method="Nelder-Mead",
                     options={"maxiter": 3000, "xatol": 1e-4, "fatol": 1e-6}).x
    cal = unpack(z)
    return cal, conformal_width(ext, sets, posts, cal, kinds, spread_cuts)


def conformal_width(ext, sets, posts, cal, kinds, cuts) -> dict[float, float]:
    """Stage 3 of :func:`calibrate`: the width multiplier per cut-off (fraction observed)."""
    q90 = float(_t_quantile95(cal["nu"], ext.n_mixture))
    width = {}
    for c in cuts:
        z, w = [], []
        for k in kinds:
            p, f, _ = sets[(k, c)]
            outs = [ext._combine(q, cal, ps, width={1.0: 1.0})
                    for q, ps in zip(p, posts[(k, c)], strict=True)]
            mu = np.concatenate([o["mean"][:, 0] for o in outs])
            sc = np.concatenate([o["scale"][:, 0] for o in outs])
            z.append(np.abs(f - mu) / (q90 * sc))
            w.append(np.full(len(f), 1.0 / len(f)))
        z, w = np.concatenate(z), np.concatenate(w)
        order = np.argsort(z)
        level = min(1.0, 0.9 * (len(z) + 1) / len(z))
        cum = np.cumsum(w[order]) / w.sum()
        width[float(c)] = round(float(z[order][np.searchsorted(cum, level - 1e-12)]), 3)
    return width


def _t_quantile95(nu, n):
    from lowfi.curves.prediction import CurvePrediction

    scales, weights = _t_mixture(nu, n)
    p = CurvePrediction([1.0], np.zeros((len(scales), 1)), scales, scalar=True, weights=weights)
    return p.quantile(0.95)


def evaluate(ext, curves, cut, family_pick=None):
    obs, T, finals, last = observed(curves, cut)
    t0 = time.perf_counter()
    preds = ext.predict_many(obs, T)
    batch_sec = (time.perf_counter() - t0) / len(obs)
    one = []
    for (s, v), t in list(zip(obs, T, strict=True))[:40]:
        c0 = time.process_time()
        ext.fit(s, v).predict(float(t))
        one.append(time.process_time() - c0)
    mean = np.array([p.mean for p in preds])
    ll = np.array([p.log_likelihood(y) for p, y in zip(preds, finals, strict=True)])
    lo, hi = np.array([p.interval(0.9) for p in preds]).T
    fam = np.concatenate([
        ext._combine(ext._fit_all(obs[i : i + 64], T[i : i + 64, None]), ext.calibration)[
            "family_pred"][:, :, 0]
        for i in range(0, len(obs), 64)
    ])
    fam_mae = np.mean(np.abs(fam - finals[:, None]), axis=0)
    k = int(np.argmin(fam_mae)) if family_pick is None else family_pick
    return {
        "n": len(curves),
        "points": int(np.median([len(s) for s, _ in obs])),
        "last_mae": float(np.mean(np.abs(last - finals))),
        "fast_mae": float(np.mean(np.abs(mean - finals))),
        "fast_ll": float(np.mean(ll)),
        "fast_cover90": float(np.mean((finals >= lo) & (finals <= hi))),
        "fast_ms_one": 1e3 * float(np.median(one)),
        "fast_ms_batched": 1e3 * batch_sec,
        "family": ext.families[k],
        "family_mae": float(fam_mae[k]),
    }


def mcmc(curves, cut, seed):
    obs, T, finals, last = observed(curves, cut)
    fast = FastExtrapolator(bounds=BOUNDS).predict_many(obs, T)
    mae, ll, cover, sec, fmae = [], [], [], [], []
    for i, ((s, v), t) in enumerate(zip(obs, T, strict=True)):
        c0 = time.process_time()
        p = DomhanExtrapolator(bounds=BOUNDS, seed=seed + i).fit(s, v, horizon=t).predict(t)
        sec.append(time.process_time() - c0)
        mae.append(abs(p.mean - finals[i]))
        ll.append(p.log_likelihood(finals[i]))
        lo, hi = p.interval(0.9)
        cover.append(lo <= finals[i] <= hi)
        fmae.append(abs(fast[i].mean - finals[i]))
    return {
        "mcmc_n": len(obs),
        "mcmc_mae": float(np.mean(mae)),
        "mcmc_ll": float(np.mean(ll)),
        "mcmc_cover90": float(np.mean(cover)),
        "mcmc_ms": 1e3 * float(np.median(sec)),
        "fast_mae_on_mcmc": float(np.mean(fmae)),
        "last_mae_on_mcmc": float(np.mean(np.abs(last - finals))),
    }


MCMC_KEYS = ("mcmc_n", "mcmc_mae", "mcmc_ll", "mcmc_cover90", "mcmc_ms")


def mcmc_stored(stored: dict, curves, cut):
    """The MCMC columns of an earlier ``--json`` row (same kind, cut, ``--seed`` and
    ``--mcmc-n``: MCMC does not depend on the fast model), with the fast model and the last
    value recomputed on the same curves."""
    n = stored["mcmc_n"]
    if n != len(curves):
        raise ValueError(f"--mcmc-from: stored MCMC ran on {n} curves, here {len(curves)}; "
                         "use the same --mcmc-n and --seed")
    obs, T, finals, last = observed(curves, cut)
    fast = FastExtrapolator(bounds=BOUNDS).predict_many(obs, T)
    return {**{k: stored[k] for k in MCMC_KEYS},
            "fast_mae_on_mcmc": float(np.mean([abs(p.mean - y) for p, y in
                                               zip(fast, finals, strict=True)])),
            "last_mae_on_mcmc": float(np.mean(np.abs(last - finals)))}


def swapped(data: dict) -> dict:
    """The same split with the halves' roles exchanged (LCDB left out)."""
    return {k: {"cal": d["test"], "test": d["cal"]} for k, d in data.items() if d["cal"]}


def coverage_table(rows, swap) -> list[str]:
    """Coverage of the 90% interval on both halves of every epoch kind, each half predicted with
    constants fitted on the other half, against the range a calibrated interval would show."""
    from scipy.stats import binom

    out = ["", "| kind | cut | covered: held-out half (shipped constants) | covered: calibration "
           "half (constants from the held-out halves) | both halves | 5-95% range if calibrated |",
           "|---" * 6 + "|"]
    other = {(r["kind"], r["cut"]): r for r in swap}
    for r in rows:
        q = other.get((r["kind"], r["cut"]))
        if q is None:
            continue
        k1, k2 = round(r["fast_cover90"] * r["n"]), round(q["fast_cover90"] * q["n"])
        n = r["n"] + q["n"]
        lo, hi = binom.ppf(0.05, n, 0.9) / n, binom.ppf(0.95, n, 0.9) / n
        out.append(f"| {r['kind']} | {int(r['cut'] * 100)}% | {k1}/{r['n']} | {k2}/{q['n']} "
                   f"| {(k1 + k2) / n:.2f} | {lo:.2f}-{hi:.2f} |")
    return out


def markdown(rows, loko, swap=()) -> str:
    out = [
        "| kind | cut | curves | points | MAE last | MAE fast | fast / last | MAE best family "
        "| LL fast | 90% cover fast | ms/curve fast (1 core; batched) | MCMC curves "
        "| MAE last / fast / MCMC (same curves) | LL MCMC | 90% cover MCMC | ms/curve MCMC |",
        "|---" * 16 + "|",
    ]
    for r in rows:
        m = (f"| {r['mcmc_n']} | {r['last_mae_on_mcmc']:.4f} / {r['fast_mae_on_mcmc']:.4f} / "
             f"{r['mcmc_mae']:.4f} | {r['mcmc_ll']:.2f} | {r['mcmc_cover90']:.2f} "
             f"| {r['mcmc_ms']:.0f} |" if "mcmc_mae" in r else "| - | - | - | - | - |")
        out.append(
            f"| {r['kind']} | {int(r['cut'] * 100)}% | {r['n']} | {r['points']} "
            f"| {r['last_mae']:.4f} | {r['fast_mae']:.4f} | {r['fast_mae'] / max(r['last_mae'], 1e-12):.2f} "
            f"| {r['family_mae']:.4f} ({r['family']}) | {r['fast_ll']:.2f} "
            f"| {r['fast_cover90']:.2f} | {r['fast_ms_one']:.1f}; {r['fast_ms_batched']:.2f} " + m
        )
    if loko:
        out += ["", "| held-out kind (constants from the other kinds) | cut | MAE last | MAE fast "
                "| fast / last | LL fast | 90% cover fast |", "|---" * 7 + "|"]
        for r in loko:
            out.append(
                f"| {r['kind']} | {int(r['cut'] * 100)}% | {r['last_mae']:.4f} "
                f"| {r['fast_mae']:.4f} | {r['fast_mae'] / max(r['last_mae'], 1e-12):.2f} "
                f"| {r['fast_ll']:.2f} | {r['fast_cover90']:.2f} |"
            )
    if swap:
        out += coverage_table(rows, swap)
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lcdb", default=os.environ.get("LOWFI_LCDB", str(ROOT.parent / "shared" /
                                                                       "data" / "lcdb")),
                    help="folder with LCDB's database-accuracy.csv.gz (or LOWFI_LCDB)")
    ap.add_argument("--no-lcdb", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibrate", action="store_true",
                    help="fit the constants on the calibration halves and print them")
    ap.add_argument("--loko", action="store_true", help="leave-one-kind-out table")
    ap.add_argument("--swap", action="store_true",
                    help="also fit the constants on the held-out halves and evaluate them on "
                         "the calibration halves (coverage on both halves)")
    ap.add_argument("--mcmc-n", type=int, default=0, help="held-out curves per kind for MCMC")
    ap.add_argument("--mcmc-n-lcdb", type=int, default=None,
                    help="LCDB curves for MCMC (default: --mcmc-n)")
    ap.add_argument("--mcmc-cuts", default="0.1,0.2,0.4")
    ap.add_argument("--mcmc-from", type=Path, default=None,
                    help="reuse the MCMC columns of an earlier --json file (run with the same "
                         "--seed and --mcmc-n) instead of rerunning MCMC; the fast model and "
                         "the last value are recomputed on the same curves")
    ap.add_argument("--kinds", default=None,
                    help="comma-separated kinds to evaluate (default: all)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    data = kinds_of(None if a.no_lcdb else a.lcdb, a.seed)
    stored = {}
    if a.mcmc_from is not None:
        stored = {(r["kind"], r["cut"]): r for r in json.loads(a.mcmc_from.read_text())["rows"]
                  if "mcmc_mae" in r}
    only = None if a.kinds is None else a.kinds.split(",")
    if only is not None and not set(only) <= set(data):
        ap.error(f"--kinds: got {a.kinds!r}; allowed are {', '.join(data)}")
    epoch_kinds = [k for k in data if data[k]["cal"]]
    ext = FastExtrapolator(bounds=BOUNDS)
    if a.calibrate:
        t0 = time.process_time()
        cal, width = calibrate(ext, data, epoch_kinds)
        print("calibration (all epoch kinds):", json.dumps({k: round(v, 4) for k, v in
                                                          cal.items()}),
              "width:", json.dumps(width), f"({time.process_time() - t0:.0f} CPU s)", flush=True)
        ext = FastExtrapolator(bounds=BOUNDS, calibration=cal, width=width)
    rows = []
    mcmc_cuts = [float(c) for c in a.mcmc_cuts.split(",")] if a.mcmc_n or a.mcmc_n_lcdb else []
    for kind, d in data.items():
        if only is not None and kind not in only:
            continue
        n_mcmc = a.mcmc_n_lcdb if kind == "lcdb" and a.mcmc_n_lcdb is not None else a.mcmc_n
        for cut in CUTS:
            r = {"kind": kind, "cut": cut, **evaluate(ext, d["test"], cut)}
            if cut in mcmc_cuts and (kind, cut) in stored:
                r.update(mcmc_stored(stored[(kind, cut)], d["test"][:n_mcmc], cut))
            elif cut in mcmc_cuts and n_mcmc:
                r.update(mcmc(d["test"][:n_mcmc], cut, a.seed))
            print(json.dumps(r), flush=True)
            rows.append(r)
    loko = []
    if a.loko:
        for kind in epoch_kinds:
            if only is not None and kind not in only:
                continue
            cal, width = calibrate(ext, data, [k for k in epoch_kinds if k != kind])
            e = FastExtrapolator(bounds=BOUNDS, calibration=cal, width=width)
            for cut in CUTS:
                r = {"kind": kind, "cut": cut, **evaluate(e, data[kind]["test"], cut)}
                print(json.dumps(r), flush=True)
                loko.append(r)
    swap = []
    if a.swap:
        other = swapped(data)
        cal, width = calibrate(ext, other, [k for k in epoch_kinds if only is None or k in only])
        print("calibration on the held-out halves:", json.dumps({k: round(v, 4) for k, v in
                                                               cal.items()}),
              "width:", json.dumps(width), flush=True)
        e = FastExtrapolator(bounds=BOUNDS, calibration=cal, width=width)
        for kind in epoch_kinds:
            if only is not None and kind not in only:
                continue
            for cut in CUTS:
                r = {"kind": kind, "cut": cut, **evaluate(e, other[kind]["test"], cut)}
                print(json.dumps(r), flush=True)
                swap.append(r)
    if a.json is not None:
        a.json.write_text(json.dumps({"rows": rows, "loko": loko, "swap": swap,
                                      "calibration": ext.calibration,
                                      "width": ext.width}, indent=1))
    print(markdown(rows, loko, swap))


if __name__ == "__main__":
    main()
