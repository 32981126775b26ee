"""Freeze-thaw Bayesian optimization (Swersky, Snoek & Adams 2014).

Training runs are paused ("frozen") after a few steps and the optimizer decides, each time a
worker is free, whether to resume ("thaw") one of them or to start a new configuration, and
for how many steps. A :class:`lowfi.models.gp.FreezeThawGP` models every learning curve as an
asymptote (a GP over configurations) plus an exponentially decaying transient (Swersky et al.'s
kernel over steps), with inference linear in the number of curves.

Decision (``decision="entropy"``, the paper's): a **basket** of candidates -- the ``n_old``
paused runs with the highest expected improvement of their predicted loss at ``max_budget``
and the ``n_new`` new configurations (out of random ones and perturbations of the best) with
the highest expected improvement of their asymptote -- and for each candidate and each
duration ``k * step`` (``k`` in ``durations``), the **information gain about the location of
the minimum** ``p_min`` (which of the basket's runs, plus the currently best-predicted run, has
the lowest loss at ``max_budget``) from observing that run's loss after the extra steps, per
step trained. ``p_min`` is estimated by Monte Carlo over joint posterior samples of the losses
at ``max_budget`` (common random numbers across candidates); the expected entropy after the
observation uses Gauss-Hermite quadrature over its value. The joint posterior is exact under the
model: given the curves, a run's loss at step ``t`` is ``a(t) f + b(t) + e(t)`` with ``f`` its
asymptote (jointly Gaussian over runs) and ``e`` its own transient's residual. The best
(candidate, duration) is run; with several workers each free worker gets the best candidate
that is not running. ``decision="ei"`` keeps the simpler rule: expected improvement at
``max_budget`` for paused runs against that of the asymptote for new configurations, one
``step`` at a time. New candidates equal to a configuration that already has a run (possible
on categorical, integer or conditional spaces) leave the basket, since that run can be continued; once
every configuration of a finite space has started, only paused runs are thawed.

In lowfi terms the **budget is the total number of steps to reach** (as for Hyperband
promotions): a new configuration runs ``k * step`` steps (``budget = k * step``); a thawed one
keeps its ``config_id`` and gets ``budget = previous + k * step`` (capped at ``max_budget``)
with ``info["resume_from_step"] = previous`` and ``info["steps"] = budget - previous``; it
should load its state from ``trial.checkpoint_dir`` and train only the further steps. If the
objective reports a curve (``trial.report(step, value)`` with cumulative steps), every point
feeds the model; otherwise the final loss is one point at ``step = budget``.

Verified incumbent: the recommendation (the curve with the lowest predicted loss at
``max_budget``) is thawed straight to ``max_budget`` (``info["verification"] = True``) when it
has not reached it and the steps spent on such verifications stay within ``verify_share`` of all
steps trained (the rule of :func:`lowfi.optimizers.mfbo.verification_due`, with the remaining
steps as the cost); the last trial before ``max_trials`` is always one if needed, and
:meth:`FreezeThaw.ask_verification` asks for one on demand. So :meth:`incumbent` ends with a
measurement at ``max_budget``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.linalg import solve_triangular

from lowfi.core.seeding import SeedLike, spawn
from lowfi.core.trial import Result, Trial
from lowfi.models.gp import FreezeThawGP, GPFeatures, blas_single_thread, cholesky
from lowfi.optimizers.base import Optimizer, budget_kind, check_budgets
from lowfi.optimizers.gp import expected_improvement, local_candidates
from lowfi.optimizers.mfbo import _argmin_counts, _check_share, _entropy_rows, verification_due

DECISIONS = ("entropy", "ei")


# ---------------------------------------------------------------------- joint curve posterior
def _matches(rows: np.ndarray, known: np.ndarray) -> np.ndarray:
    """For each encoded row, whether it equals one of ``known``'s (inactive conditional
    values, encoded as NaN, count as equal)."""
    a, b = rows[:, None, :], known[None, :, :]
    return ((a == b) | (np.isnan(a) & np.isnan(b))).all(-1).any(1)


def _transient(model: FreezeThawGP, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """The exponential-decay kernel between (scaled) steps ``t1`` and ``t2``."""
    th = model.theta
    d = len(th) - 6
    alpha, beta, s2t = math.exp(th[d + 2]), math.exp(th[d + 3]), math.exp(th[d + 4])
    return s2t * np.exp(alpha * (math.log(beta) - np.log(t1[:, None] + t2[None, :] + beta)))


def _curve_terms(model: FreezeThawGP, index: int | None, ts: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``a, b, E`` with ``y(ts) = a f + b + e``, ``e ~ N(0, E)`` given the run's own curve and
    its asymptote ``f`` (standardized units; ``index`` None: a new configuration)."""
    if index is None:
        return np.ones(len(ts)), np.zeros(len(ts)), _transient(model, ts, ts)
    o = model._o[index]
    kstar = _transient(model, ts, model._t[index]) * o[None, :]  # (q, T)
    Ki_k = np.linalg.solve(model._Kn[index], kstar.T)  # (T, q)
    a = 1.0 - Ki_k.T @ o
    b = Ki_k.T @ (model._y[index] * o)
    return a, b, _transient(model, ts, ts) - kstar @ Ki_k


def _asymptotes(model: FreezeThawGP, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint posterior mean and covariance of the asymptotes at inputs ``Z`` (standardized)."""
    Ks = model._s2x * model._kx.K(model._X, Z)
    mean = model._m + Ks.T @ model._w
    V = solve_triangular(model._LB, model._sl[:, None] * Ks, lower=True)
    cov = model._s2x * model._kx.K(Z) - V.T @ V
    return mean, 0.5 * (cov + cov.T)


class FreezeThaw(Optimizer):
    """Freeze-thaw BO (Swersky et al. 2014): thaw a paused run or start a new one, chosen by
    entropy search over a basket of candidates (or by EI).

    Parameters
    ----------
    space
        The search space.
    min_budget, max_budget
        Steps of the first round of a configuration and the most steps any run reaches.
    eta
        Accepted for a uniform interface; unused.
    seed
        Seed of all randomness.
    step
        Steps per unit of duration (default ``min_budget``).
    n_initial
        New configurations started before the model is used (default ``max(3, dim + 1)``);
        new ones keep starting until at least two runs have reported a curve.
    n_candidates
        Random configurations scored as possible new runs per ask.
    max_trials
        Stop asking after this many trials (None: never).
    verify_share
        Largest share of all trained steps spent thawing the recommendation straight to
        ``max_budget`` (default 0.2; see the module docstring).
    decision
        ``"entropy"`` (the paper's information gain about the minimum per step) or ``"ei"``.
    n_old, n_new
        Paused runs and new configurations in the basket (the paper's 10 and 3).
    durations
        Multiples of ``step`` a chosen run may train for (``"entropy"``); the gain is divided
        by the steps, so longer runs are chosen when they teach proportionally more.
    n_samples
        Monte Carlo samples of ``p_min``.
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 seed: SeedLike = None, step: float | None = None, n_initial: int | None = None,
                 n_candidates: int = 200, max_trials: int | None = None,
                 verify_share: float = 0.2, decision: str = "entropy", n_old: int = 10,
                 n_new: int = 3, durations: Any = (1, 2, 4), n_samples: int = 500,
                 budget_type: Any = None):
        super().__init__(space, seed)
        self.verify_share = _check_share(verify_share)
        given = (min_budget, max_budget)
        min_budget, max_budget, _ = check_budgets(min_budget, max_budget, None)
        step = min_budget if step is None else step
        # int budgets (steps of a whole number of epochs) when the budgets and step are ints
        self.budget_type = budget_kind(budget_type, step if step != min_budget else given[0],
                                       given[1])
        if not isinstance(step, int | float) or isinstance(step, bool) or not 0 < step <= max_budget:
            raise ValueError(f"step: got {step!r}; it must be a number in (0, max_budget={max_budget:g}]")
        if n_initial is not None and (not isinstance(n_initial, int) or n_initial < 1):
            raise ValueError(f"n_initial: got {n_initial!r}; it must be an integer >= 1")
        if not isinstance(n_candidates, int) or n_candidates < 1:
            raise ValueError(f"n_candidates: got {n_candidates!r}; it must be an integer >= 1")
        if decision not in DECISIONS:
            raise ValueError(f"decision: got {decision!r}; allowed are {', '.join(DECISIONS)}")
        for name, v, lo in (("n_old", n_old, 0), ("n_new", n_new, 1), ("n_samples", n_samples, 10)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name}: got {v!r}; it must be an integer >= {lo}")
        try:
            durs = tuple(sorted({int(k) for k in durations}))
            ok = bool(durs) and all(k >= 1 for k in durs) and all(float(k) == k for k in durations)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"durations: got {durations!r}; it must be a non-empty sequence of "
                             "integers >= 1 (multiples of step)")
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        self.step = float(step)
        self.n_initial = n_initial if n_initial is not None else max(3, self.space.dim + 1)
        self.n_candidates = n_candidates
        self.max_trials = max_trials
        self.decision, self.n_old, self.n_new = decision, n_old, n_new
        self.durations, self.n_samples = durs, n_samples
        self.features = GPFeatures(self.space)
        self.model = FreezeThawGP(t_scale=self.max_budget / 10.0, seed=spawn(self.rng))
        # config_id -> state of its run
        self.runs: dict[int, dict[str, Any]] = {}
        #: the last entropy decision, for inspection: candidates, their gain per step, choice
        self.last_decision: dict[str, Any] | None = None

    # ------------------------------------------------------------------ ask/tell
    def _paused(self) -> list[int]:
        busy = {t.config_id for t in self.history.pending.values()}
        return [cid for cid, r in self.runs.items()
                if cid not in busy and not r["failed"] and r["steps"] < self.max_budget * (1 - 1e-9)]

    def _ask(self) -> Trial | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        curves = [cid for cid, r in self.runs.items() if r["curve"]]
        if len(curves) >= 2:  # failed runs count against their region (worst loss seen)
            curves += [cid for cid, r in self.runs.items() if r["failed"] and not r["curve"]]
        if len(self.runs) < self.n_initial or len(curves) < 2:
            # the initial design, and new configurations while the model waits for its second
            # curve (a slow first evaluation on one worker must not make the others train one
            # run to max_budget); a finite space with every configuration started thaws instead
            config = self._fresh_config()
            if len(self.runs) >= self.n_initial and self._paused() and self._started(config):
                return self._thaw(self._paused()[0])
            return self._start(config)
        with blas_single_thread():
            choice, config, verify, k = self._decide(curves)
        if choice is not None:
            return self._thaw(choice, verify, k)
        return self._start(config, k)

    def _known(self) -> np.ndarray:
        """Encoded configurations of all runs started so far."""
        return self.space.encode(r["config"] for r in self.runs.values())

    def _started(self, config: dict[str, Any]) -> bool:
        """Whether ``config`` already has a run."""
        return bool(self.runs) and bool(
            _matches(self.space.encode([config]), self._known()).any())

    def _fresh_config(self, tries: int = 20) -> dict[str, Any]:
        """A random configuration without a run yet, if one turns up in ``tries`` draws (on a
        finite space a repeat would retrain what can be continued)."""
        known = self._known() if self.runs else None
        config = self.space.sample(self.rng)
        for _ in range(tries - 1):
            if known is None or not _matches(self.space.encode([config]), known).any():
                break
            config = self.space.sample(self.rng)
        return config

    def _start(self, config: dict[str, Any], k: int = 1) -> Trial:
        budget = min(k * self.step, self.max_budget)
        trial = self._new_trial(config, budget, resume_from_step=0.0, steps=budget, thawed=False)
        self.runs[trial.config_id] = {"config": config, "steps": 0.0, "curve": [], "failed": False}
        return trial

    def _thaw(self, cid: int, verify: bool = False, k: int = 1) -> Trial:
        run = self.runs[cid]
        budget = self.max_budget if verify else min(run["steps"] + k * self.step, self.max_budget)
        extra = {"verification": True} if verify else {}
        return self._new_trial(run["config"], budget, cid, resume_from_step=run["steps"],
                               steps=budget - run["steps"], thawed=True, **extra)

    def _tell(self, trial: Trial, result: Result) -> None:
        run = self.runs[trial.config_id]
        if result.status == "failed":
            run["failed"] = True
            return
        run["steps"] = max(run["steps"], float(trial.budget))
        loss = result.loss[0] if isinstance(result.loss, tuple) else result.loss
        points = [(float(s), float(v)) for s, v in (result.curve or [])
                  if math.isfinite(v) and s > trial.info.get("resume_from_step", 0.0)]
        if loss is not None and math.isfinite(loss) and not any(s == trial.budget for s, _ in points):
            points.append((float(trial.budget), float(loss)))
        run["curve"].extend(sorted(points))

    # ------------------------------------------------------------------ verified incumbent
    def _verify_choice(self, curves: list[int], mu: np.ndarray, force: bool = False) -> int | None:
        """The recommended run if it should be thawed to ``max_budget`` now."""
        if any(t.info.get("verification") for t in self.history.pending.values()):
            return None
        last = self.max_trials is not None and self._next_trial_id >= self.max_trials - 1
        if not (force or last or self.verify_share > 0):
            return None
        cid = curves[int(np.argmin(mu))]
        if cid not in self._paused():  # at max_budget already, running, or failed
            return None
        if force or last:
            return cid
        spent = verify = 0.0
        for r in self.history.records:
            if r.trial_id < 0:
                continue
            steps = float(r.info.get("steps", r.budget))
            spent += steps
            if r.info.get("verification"):
                verify += steps
        full = self.max_budget - self.runs[cid]["steps"]
        return cid if verification_due(spent, verify, full, self.verify_share) else None

    def ask_verification(self) -> Trial | None:
        """A trial thawing the recommended run to ``max_budget`` if it has not reached it (None
        otherwise): ask it before a run of your own ends so that :meth:`incumbent` has a
        measurement at ``max_budget``."""
        curves = [cid for cid, r in self.runs.items() if r["curve"]]
        if not curves:
            return None
        if len(curves) == 1:
            mu = np.zeros(1)
        else:
            with blas_single_thread():
                self._fit(curves)
                mu = np.array([self.model.predict_curve(i, [self.max_budget])[0][0]
                               for i in range(len(curves))])
        cid = self._verify_choice(curves, mu, force=True)
        if cid is None:
            return None
        trial = self._thaw(cid, verify=True)
        self.history.add_pending(trial)
        return trial

    # ------------------------------------------------------------------ decision
    def _fit(self, curves: list[int]) -> np.ndarray:
        X = self.space.encode(self.runs[c]["config"] for c in curves)
        # a run that failed before reporting anything stands at the worst loss any run
        # reported, after one step: the model learns to avoid where evaluations crash
        worst = max((v for r in self.runs.values() if not r["failed"] for _, v in r["curve"]),
                    default=0.0)
        data = [(np.array([p[0] for p in self.runs[c]["curve"]]),
                 np.array([p[1] for p in self.runs[c]["curve"]])) if self.runs[c]["curve"]
                else (np.array([float(self.step)]), np.array([worst])) for c in curves]
        self.model.fit(self.features.transform(X), data)
        return X

    def _new_pool(self, X: np.ndarray, mu: np.ndarray) -> np.ndarray:
        top = X[np.argsort(mu)[: min(3, len(mu))]]
        return np.vstack([self.space.sample_vectors(self.rng, self.n_candidates),
                          local_candidates(self.space, top, self.rng, self.n_candidates // 2)])

    def _decide(self, curves: list[int]) -> tuple[int | None, dict[str, Any] | None, bool, int]:
        X = self._fit(curves)
        final = [self.model.predict_curve(i, [self.max_budget]) for i in range(len(curves))]
        mu = np.array([m[0] for m, _ in final])
        var = np.array([v[0] for _, v in final])
        cid = self._verify_choice(curves, mu)
        if cid is not None:
            return cid, None, True, 1
        best = float(mu.min())
        paused = set(self._paused())
        pos = [i for i, c in enumerate(curves) if c in paused]
        ei_old = expected_improvement(mu[pos], var[pos], best) if pos else np.empty(0)
        cand = self._new_pool(X, mu)
        # a "new" candidate equal to a started run (finite, categorical or integer spaces)
        # would restart training that can be continued: such candidates leave the basket
        known = self._known()
        cand = cand[~_matches(cand, known)]
        if not len(cand):  # every configuration has started: continue the most promising
            if pos:
                return curves[pos[int(np.argmax(ei_old))]], None, False, 1
            return None, self._fresh_config(), False, 1
        mu_new, var_new = self.model.predict_asymptote(self.features.transform(cand))
        ei_new = expected_improvement(mu_new, var_new, best)
        if self.decision == "entropy":
            old = [pos[i] for i in np.argsort(-ei_old)[: self.n_old]]
            new = np.argsort(-ei_new)[: self.n_new]
            pick = self._entropy_choice(curves, X, mu, old, cand[new])
            if pick is not None:
                kind, j, k = pick
                if kind == "old":
                    return curves[j], None, False, k
                return None, self.space.to_dicts(cand[new[j]][None, :])[0], False, k
        j = int(np.argmax(ei_new))
        if len(ei_old) and ei_old.max() >= ei_new[j]:
            return curves[pos[int(np.argmax(ei_old))]], None, False, 1
        return None, self.space.to_dicts(cand[j][None, :])[0], False, 1

    def _entropy_choice(self, curves: list[int], X: np.ndarray, mu: np.ndarray, old: list[int],
                        new_X: np.ndarray) -> tuple[str, int, int] | None:
        """The (kind, index, duration multiple) with the largest information gain about
        ``p_min`` per step, over the basket ``old`` (indices into ``curves``) + ``new_X``."""
        m = self.model
        scale = m._tscale
        T = self.max_budget / scale
        # representers: the basket plus the run predicted best now
        reps_old = list(dict.fromkeys(old + [int(np.argmin(mu))]))
        items: list[tuple[int | None, float]] = [(i, self.runs[curves[i]]["steps"]) for i in reps_old]
        items += [(None, 0.0)] * len(new_X)
        Z = np.vstack([self.features.transform(X[reps_old]), self.features.transform(new_X)])
        mf, Sf = _asymptotes(m, Z)
        R = len(items)
        ks = np.array(self.durations, dtype=float)
        aT, bT, eT = np.zeros(R), np.zeros(R), np.zeros(R)
        obs = []  # per item: (a, b, var_e, cov_e with T) at each duration, or None
        for r, (idx, done) in enumerate(items):
            ends = np.minimum(done + ks * self.step, self.max_budget) / scale
            a, b, E = _curve_terms(m, idx, np.concatenate([[T], ends]))
            aT[r], bT[r], eT[r] = a[0], b[0], E[0, 0]
            obs.append((a[1:], b[1:], np.diag(E)[1:], E[0, 1:], ends * scale - done))
        mean_T = aT * mf + bT
        cov_T = np.outer(aT, aT) * Sf + np.diag(np.maximum(eT, 0.0))
        L, _ = cholesky(cov_T, jitter=1e-9)
        S = self.n_samples
        z = self.rng.standard_normal((S, R))
        nodes, weights = hermegauss(7)
        weights = weights / weights.sum()
        H0 = _entropy_rows(_argmin_counts((mean_T + z @ L.T)[:, None, :], R))[0]
        nv = math.exp(m.theta[-1])
        n_cand = len(old) + len(new_X)
        cand_items = list(range(len(old))) + list(range(len(reps_old), R))
        best, best_val, table = None, 0.0, []
        for ci, r in zip(range(n_cand), cand_items):
            a_o, b_o, ve, ce, steps = obs[r]
            for q, k in enumerate(self.durations):
                if steps[q] <= 0 or (q > 0 and steps[q] <= steps[q - 1]):
                    continue  # capped at max_budget: the same observation as a shorter run
                c = aT * a_o[q] * Sf[:, r]
                c[r] += ce[q]
                v = a_o[q] ** 2 * Sf[r, r] + ve[q] + nv
                Lp, _ = cholesky(cov_T - np.outer(c, c) / v, jitter=1e-9)
                base = z @ Lp.T
                H = 0.0
                for h, w in zip(nodes, weights):
                    shift = c / math.sqrt(v) * h
                    H += w * _entropy_rows(_argmin_counts((mean_T + shift + base)[:, None, :], R))[0]
                gain = (H0 - H) / steps[q]
                kind = "old" if ci < len(old) else "new"
                j = old[ci] if kind == "old" else ci - len(old)
                table.append((kind, j, k, float(gain)))
                if gain > best_val:
                    best, best_val = (kind, j, k), gain
        self.last_decision = {"entropy": float(H0), "candidates": table, "choice": best}
        return best

    def recommend(self) -> tuple[dict[str, Any], float] | None:
        """The configuration with the lowest predicted loss at ``max_budget`` and that value."""
        curves = [cid for cid, r in self.runs.items() if r["curve"] and not r["failed"]]
        if len(curves) < 2:
            return self.incumbent()
        with blas_single_thread():
            self._fit(curves)
            mu = np.array([self.model.predict_curve(i, [self.max_budget])[0][0]
                           for i in range(len(curves))])
        i = int(np.argmin(mu))
        return dict(self.runs[curves[i]]["config"]), float(mu[i])
