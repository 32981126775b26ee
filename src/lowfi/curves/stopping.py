"""Predictive termination rules that plug into ``trial.should_stop()``.

* :class:`DomhanStopping` -- Domhan, Springenberg & Hutter (IJCAI 2015): extrapolate the
  partial curve with the MCMC ensemble and stop when P(final value better than the incumbent)
  falls under ``delta``.
* :class:`BakerStopping` -- Baker, Gupta, Raskar & Naik (2017): a nu-SVR trained on the fully
  evaluated curves of the same run predicts the final value; stop when P(final better than the
  incumbent) under a Gaussian with the regressor's cross-validated error falls under ``delta``.

* :class:`MedianStopping` -- the median stopping rule of Google Vizier (Golovin et al. 2017).
* :class:`RungStopping` -- the stopping variant of ASHA (Li et al. 2020): a scheduler's rung
  decision made inside the trial.

All read the trial's reported curve, whose values are on the loss scale of the run (lower is
better) unless ``direction="maximize"``.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.core.trial import StoppingRule, Trial, TrialLike
from lowfi.curves.prediction import check_direction


def _check_pos(name: str, value: Any, integer: bool = False, allow_zero: bool = False) -> None:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value)) and (value >= 0 if allow_zero else value > 0)
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        kind = "an integer" if integer else "a number"
        raise ValueError(
            f"{name}: got {value!r}; allowed is {kind} {'>=' if allow_zero else '>'} 0"
        )


def _reference_horizon(history: Any) -> float:
    """The run's largest budget (rungs are laid out below it; the predictive rung rule
    predicts every curve at it)."""
    return max([float(getattr(history, "max_budget", 0) or 0)]
               + [float(r.budget) for r in getattr(history, "records", [])]
               + [float(t.budget) for t in getattr(history, "pending", {}).values()])


def _shown(trial: Any) -> float:
    """Sign that puts a value of the rule (a loss) in the objective's own scale for the
    stopped trial's info: -1 in a maximizing run (the rule sees negated scores), else +1."""
    return -1.0 if getattr(trial, "maximize", False) else 1.0


def incumbent_from_history(
    history: Any, budget: float, direction: str = "minimize"
) -> float | None:
    """Best ``"ok"`` scalar loss at ``budget`` or above in ``history`` (None when there is none).

    Stopped and failed records do not count: their losses are not final values.
    """
    if history is None:
        return None
    sign = check_direction(direction)
    best = None
    for r in getattr(history, "records", []):
        if getattr(r, "status", "ok") != "ok" or float(r.budget) < float(budget):
            continue
        loss = r.loss[0] if isinstance(r.loss, tuple) else r.loss
        if loss is None or not math.isfinite(float(loss)):
            continue
        if best is None or sign * float(loss) > sign * best:
            best = float(loss)
    return best


class _CheckSchedule(StoppingRule):
    """Shared machinery: when to check (from step ``n_min`` on, every ``every`` steps)."""

    def __init__(self, n_min: float, every: float, delta: float, direction: str, seed: SeedLike):
        _check_pos("n_min", n_min)
        _check_pos("every", every)
        if not (isinstance(delta, int | float) and 0.0 < delta < 1.0):
            raise ValueError(f"delta: got {delta!r}; allowed is a probability in (0, 1)")
        self.n_min, self.every, self.delta = float(n_min), float(every), float(delta)
        self.direction = direction
        self._sign = check_direction(direction)
        self.seed = int(as_generator(seed).integers(0, 2**31 - 1))
        self.incumbent: float | None = None
        self.horizon: float | None = None
        self.last: dict[str, Any] = {}
        self._next_check: float | None = None
        self._trial_id = 0

    def for_trial(self, trial: TrialLike, history: Any) -> StoppingRule:
        """Snapshot for ``trial``: incumbent from ``history`` and horizon ``trial.budget``."""
        snap = copy.copy(self)
        snap.last = {}
        snap.incumbent = incumbent_from_history(history, trial.budget, self.direction)
        snap.horizon = float(trial.budget)
        snap._next_check = self.n_min
        snap._trial_id = int(trial.id)
        return snap

    def shared(self, history: Any) -> dict[str, Any] | None:
        """Best final loss per budget, published by the run loop to running trials."""
        best: dict[float, float] = {}
        for b in getattr(history, "budgets", []):
            v = incumbent_from_history(history, b, self.direction)
            if v is not None:
                best[float(b)] = v
        return {"best_by_budget": [[b, v] for b, v in best.items()]} if best else None

    def update(self, state: dict[str, Any]) -> None:
        """Take the newest incumbent at or above this trial's budget (worker side)."""
        if self.horizon is None:
            return
        vals = [float(v) for b, v in state.get("best_by_budget", []) if float(b) >= self.horizon]
        if vals:
            new = max(vals, key=lambda v: self._sign * v)
            if self.incumbent is None or self._sign * new > self._sign * self.incumbent:
                self.incumbent = new

    def _due(self, trial: Trial) -> bool:
        if self.incumbent is None or self.horizon is None or not trial.curve:
            return False
        step = trial.curve[-1][0]
        if self._next_check is None:
            self._next_check = self.n_min
        if step < self._next_check or step >= self.horizon:
            return False
        self._next_check = step + self.every
        return True

    def _trial_seed(self) -> np.random.SeedSequence:
        return np.random.SeedSequence([self.seed, self._trial_id, len(self.last.get("checks", []))])

    def describe(self, trial: Trial) -> dict[str, Any]:
        """Prediction made at the last check (predicted final value, probability, incumbent)."""
        return {k: v for k, v in self.last.items() if k != "checks"}


class DomhanStopping(_CheckSchedule):
    """Predictive termination of Domhan, Springenberg & Hutter (IJCAI 2015).

    From step ``n_min`` on, every ``every`` steps, the partial curve the trial has reported is
    extrapolated to the trial's budget ``T`` (its number of steps); the trial stops when
    ``P(y_T better than the incumbent) < delta``. The extrapolation is the default curve model,
    :class:`lowfi.curves.FastExtrapolator` (the paper's 11 families, fitted in milliseconds,
    calibrated predictive distribution), or the paper's MCMC ensemble
    :class:`lowfi.curves.DomhanExtrapolator` with ``method="mcmc"``. The incumbent is the
    best finished (``"ok"``) loss at the trial's budget or above, read from the history when
    the run loop calls :meth:`for_trial`; with no incumbent yet, the rule never stops (the
    paper trains the first runs fully). :meth:`describe` says why: the rule, the method, the
    predicted final value and its 90% interval, the probability of beating the incumbent, the
    threshold ``delta``, the decision and the number of curve points it was made from; the run
    keeps it in the stopped trial's info.

    Parameters
    ----------
    n_min
        First step at which a check happens (default 10).
    every
        Steps between checks (default 10).
    delta
        Stop when the probability of beating the incumbent is under this (paper: 0.05).
    direction
        ``"minimize"`` when reported values are losses (default), else ``"maximize"``.
    bounds
        Optional range of the metric (e.g. ``(0, 1)`` for error rates).
    seed
        Seeds the extrapolator of each check (a stream per trial and check; MCMC only).
    method
        ``"fast"`` (default: :class:`~lowfi.curves.FastExtrapolator`) or ``"mcmc"``
        (:class:`~lowfi.curves.DomhanExtrapolator`, the paper's sampler; about a second per
        check).
    **extrapolator
        Further keyword arguments for the extrapolator of ``method``.
    """

    def __init__(
        self,
        n_min: float = 10,
        every: float = 10,
        delta: float = 0.05,
        direction: str = "minimize",
        bounds: tuple[float, float] | None = None,
        seed: SeedLike = 0,
        method: str = "fast",
        **extrapolator: Any,
    ):
        super().__init__(n_min, every, delta, direction, seed)
        if method not in ("fast", "mcmc"):
            raise ValueError(f"method: got {method!r}; allowed are 'fast', 'mcmc'")
        self.method = method
        self.bounds = bounds
        self.extrapolator = dict(extrapolator)
        if method == "mcmc":  # settings checked here, not in every trial later
            from lowfi.curves.domhan import DomhanExtrapolator

            try:
                DomhanExtrapolator(direction=direction, bounds=bounds, **self.extrapolator)
            except TypeError as exc:
                raise ValueError(f"extrapolator settings: {exc}; see "
                                 "lowfi.curves.DomhanExtrapolator") from exc
        if method == "fast":
            import inspect

            from lowfi.curves.fast import FastExtrapolator

            allowed = set(inspect.signature(FastExtrapolator).parameters) - {"direction", "bounds"}
            bad = sorted(set(self.extrapolator) - allowed)
            if bad:
                raise ValueError(
                    f"{bad[0]}: got {self.extrapolator[bad[0]]!r}, not a setting of the fast "
                    f"extrapolator (allowed: {', '.join(sorted(allowed))}); MCMC settings need "
                    "method='mcmc'"
                )
            FastExtrapolator(direction=direction, bounds=bounds, **self.extrapolator)  # values

    def should_stop(self, trial: Trial) -> bool:
        """Whether the extrapolated final value is unlikely (< ``delta``) to beat the incumbent."""
        if not self._due(trial):
            return False
        steps, values = _curve_arrays(trial.curve)
        keep = steps > 0  # the curve families start after step 0 (a 0-based epoch counter)
        steps, values = steps[keep], values[keep]
        if len(steps) < 3 or np.any(np.diff(steps) <= 0):
            return False
        horizon = max(self.horizon, float(steps[-1]))
        if self.method == "fast":
            from lowfi.curves.fast import FastExtrapolator

            ext: Any = FastExtrapolator(
                direction=self.direction, bounds=self.bounds, **self.extrapolator
            )
        else:
            from lowfi.curves.domhan import DomhanExtrapolator

            ext = DomhanExtrapolator(
                direction=self.direction,
                bounds=self.bounds,
                seed=self._trial_seed(),
                **self.extrapolator,
            )
        pred = ext.fit(steps, values, horizon=horizon).predict(self.horizon)
        p = float(pred.prob_better(self.incumbent))
        u = _shown(trial)
        lo, hi = sorted(u * float(x) for x in pred.interval(0.9))
        stop = p < self.delta
        checks = self.last.get("checks", []) + [(float(steps[-1]), p)]
        self.last = {
            "rule": "domhan",
            "method": self.method,
            "decision": "stop" if stop else "continue",
            "reason": (
                f"P(final {'<' if self._sign * u < 0 else '>'} incumbent "
                f"{u * self.incumbent:.6g}) = {p:.3g} {'<' if stop else '>='} "
                f"delta {self.delta:g}"
            ),
            "predicted_final": u * float(pred.mean),
            "predicted_q05": lo,
            "predicted_q95": hi,
            "prob_better": p,
            "threshold": self.delta,
            "incumbent": u * self.incumbent,
            "horizon": self.horizon,
            "checked_at": float(steps[-1]),
            "points": int(len(steps)),
            "checks": checks,
        }
        if u < 0:  # in a maximizing run the values above are scores
            self.last["values"] = "score"
        return stop


class BakerStopping(_CheckSchedule):
    """Early stopping with a final-value regressor (Baker, Gupta, Raskar & Naik, 2017).

    Once ``min_train`` fully evaluated curves of the run exist, the rule fits (lazily, once per
    number of observed points ``tau`` and training-set size) a :class:`BakerRegressor` from
    hyperparameters, the first ``tau`` values and their differences to the final value. From
    step ``n_min`` on, every ``every`` steps, a trial stops when
    ``P(y_T better than the incumbent) < delta`` under ``N(prediction, cv_std^2)`` (the paper's
    rule, with its Delta as ``delta``).

    Training curves come from :meth:`add_curve` and from history records that carry a curve
    (``record.curve`` or ``record.info["curve"]``), status ``"ok"`` and the trial's budget.

    Parameters
    ----------
    n_min, every, delta, direction, seed
        As in :class:`DomhanStopping`.
    min_train
        Fully evaluated curves needed before the rule can stop anything (default 10).
    space
        A :class:`lowfi.space.Space` to encode hyperparameters (default: the history's space;
        without one, only the curve features are used).
    **regressor
        Keyword arguments for :class:`~lowfi.curves.BakerRegressor`.
    """

    def __init__(
        self,
        n_min: float = 5,
        every: float = 5,
        delta: float = 0.05,
        min_train: int = 10,
        direction: str = "minimize",
        space: Any = None,
        seed: SeedLike = 0,
        **regressor: Any,
    ):
        super().__init__(n_min, every, delta, direction, seed)
        _check_pos("min_train", min_train, integer=True)
        from lowfi.curves.baker import BakerRegressor

        try:  # settings checked here, not in every trial later
            cv = BakerRegressor(**regressor).cv
        except TypeError as exc:
            raise ValueError(f"regressor settings: {exc}; see lowfi.curves.BakerRegressor") from exc
        if min_train < cv + 1:
            raise ValueError(f"min_train: got {min_train!r}; the regressor's {cv}-fold "
                             f"cross-validation needs at least cv + 1 = {cv + 1} curves")
        self.min_train = int(min_train)
        self.space = space
        self.regressor = dict(regressor)
        self._curves: list[tuple[dict, list[float]]] = []
        self._models: dict[tuple, Any] = {}
        self._train: tuple[np.ndarray | None, list[np.ndarray]] | None = None
        self._x_trial: np.ndarray | None = None

    def add_curve(self, config: dict, curve: Any) -> None:
        """Add a fully evaluated curve (``[(step, value), ...]`` or values) for training."""
        vals = [float(v[1]) if isinstance(v, tuple | list) else float(v) for v in curve]
        if len(vals) < 2:
            raise ValueError(f"curve: got {len(vals)} points; a training curve needs >= 2")
        self._curves.append((dict(config), vals))

    def for_trial(self, trial: TrialLike, history: Any) -> StoppingRule:
        """Snapshot: incumbent, horizon and the training curves known now."""
        snap = super().for_trial(trial, history)
        pairs = list(self._curves)
        for r in getattr(history, "records", []):
            curve = getattr(r, "curve", None) or (r.info or {}).get("curve")
            if curve and r.status == "ok" and float(r.budget) == float(trial.budget):
                pairs.append(
                    (
                        r.config,
                        [float(v[1]) if isinstance(v, tuple | list) else float(v) for v in curve],
                    )
                )
        space = self.space if self.space is not None else getattr(history, "space", None)
        X = None
        if space is not None and pairs:
            X = space.encode([c for c, _ in pairs])
            snap._x_trial = space.encode([trial.config])
        snap._train = (X, [np.asarray(v) for _, v in pairs])
        return snap

    def _model(self, tau: int):
        X, curves = self._train if self._train is not None else (None, [])
        keep = [i for i, c in enumerate(curves) if len(c) > tau]
        if len(keep) < self.min_train:
            return None
        key = (tau, len(keep), tuple(float(curves[i][-1]) for i in keep))
        if key not in self._models:
            from lowfi.curves.baker import BakerRegressor

            part = np.array([curves[i][:tau] for i in keep])
            final = np.array([curves[i][-1] for i in keep])
            Xk = None if X is None else X[keep]
            seed = np.random.SeedSequence([self.seed, tau, len(keep)])
            self._models[key] = BakerRegressor(seed=seed, **self.regressor).fit(Xk, part, final)
        return self._models[key]

    def should_stop(self, trial: Trial) -> bool:
        """Whether the predicted final value is unlikely (< ``delta``) to beat the incumbent."""
        if not self._due(trial):
            return False
        tau = len(trial.curve)
        model = self._model(tau)
        if model is None:
            return False
        values = np.array([[v for _, v in trial.curve]])
        pred = model.predict_distribution(self._x_trial, values, self.horizon, self.direction)
        p = float(pred.prob_better(self.incumbent))
        u = _shown(trial)
        stop = p < self.delta
        self.last = {
            "rule": "baker",
            "decision": "stop" if stop else "continue",
            "reason": (f"P(final {'<' if self._sign * u < 0 else '>'} incumbent "
                       f"{u * self.incumbent:.6g}) = {p:.3g} {'<' if stop else '>='} "
                       f"delta {self.delta:g}"),
            "predicted_final": u * float(pred.mean),
            "predicted_std": float(pred.std),
            "prob_better": p,
            "threshold": self.delta,
            "incumbent": u * self.incumbent,
            "horizon": self.horizon,
            "checked_at": float(trial.curve[-1][0]),
        }
        return stop


# --------------------------------------------------------------------------- schedule rules
def _curve_arrays(curve: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite ``(steps, values)`` of a curve, ordered by step (stable)."""
    arr = np.asarray(curve, dtype=float).reshape(-1, 2)
    arr = arr[np.isfinite(arr).all(axis=1)]
    order = np.argsort(arr[:, 0], kind="stable")
    return arr[order, 0], arr[order, 1]


def _reference_curves(history: Any, running: bool) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(trial_id, steps, values)`` of finished (ok or stopped) trials' curves and, with
    ``running``, the points running trials have streamed so far."""
    out = []
    for r in getattr(history, "records", []):
        if getattr(r, "status", "ok") in ("ok", "stopped") and r.curve:
            s, v = _curve_arrays(r.curve)
            if len(s):
                out.append((int(r.trial_id), s, v))
    if running:
        for tid, pts in getattr(history, "running_curves", {}).items():
            s, v = _curve_arrays(pts)
            if len(s):
                out.append((int(tid), s, v))
    return out


#: values within this relative distance count as equal in the stopping rules' comparisons
TIE_TOLERANCE = 1e-9


class MedianStopping(StoppingRule):
    """The median stopping rule of Google Vizier (Golovin et al., KDD 2017, section 3.2.2).

    A trial is stopped at step ``s`` when its best value so far is worse than the median of the
    running averages, up to step ``s``, of the curves of the trials that have completed
    (finished or were stopped; here: those that reported at step ``s`` or later; a step no
    completed trial reached is not judged, and a value equal to the median up to rounding,
    ``TIE_TOLERANCE``, continues). The rule is
    model-free and needs no incumbent: it compares curves step by step, so it fits any
    objective that calls ``trial.report(step, value)`` on a shared step scale (e.g. epochs).

    Parameters
    ----------
    grace
        No stop before this step (default 1: from the first report on).
    min_trials
        Completed trials that must have reached the step before the median is used (default 3).
    every
        Steps between checks (default 1: at every report).
    direction
        ``"minimize"`` when reported values are losses (default), else ``"maximize"``.
    max_reference_steps
        The published reference holds the median at most this many steps (the distinct steps
        of the completed curves, thinned evenly beyond it; default 256).
    """

    def __init__(self, grace: float = 1, min_trials: int = 3, every: float = 1,
                 direction: str = "minimize", max_reference_steps: int = 256):
        _check_pos("grace", grace, allow_zero=True)
        _check_pos("min_trials", min_trials, integer=True)
        _check_pos("every", every)
        _check_pos("max_reference_steps", max_reference_steps, integer=True)
        self.grace, self.every = float(grace), float(every)
        self.min_trials, self.max_reference_steps = int(min_trials), int(max_reference_steps)
        self.direction = direction
        self._sign = check_direction(direction)
        self.reference: dict[str, list[float]] | None = None
        self.last: dict[str, Any] = {}
        self._next_check = self.grace

    def _build(self, history: Any) -> dict[str, list[float]] | None:
        curves = _reference_curves(history, running=False)
        if not curves:
            return None
        grid = np.unique(np.concatenate([s for _, s, _ in curves]))
        if len(grid) > self.max_reference_steps:
            grid = grid[np.round(np.linspace(0, len(grid) - 1,
                                             self.max_reference_steps)).astype(int)]
        avg = np.full((len(curves), len(grid)), np.nan)
        for i, (_, s, v) in enumerate(curves):
            run_mean = np.cumsum(v) / np.arange(1, len(v) + 1)
            k = np.searchsorted(s, grid, side="right") - 1  # last report at or before each step
            ok = (k >= 0) & (grid <= s[-1])  # only trials that reached the step
            avg[i, ok] = run_mean[k[ok]]
        count = np.sum(~np.isnan(avg), axis=0)
        with warnings.catch_warnings():  # steps no trial reached: NaN median
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(avg, axis=0)
        return {"steps": grid.tolist(), "median": med.tolist(), "count": count.tolist()}

    def for_trial(self, trial: TrialLike, history: Any) -> StoppingRule:
        snap = copy.copy(self)
        snap.reference = self._build(history)
        snap.last = {}
        snap._next_check = self.grace
        return snap

    def shared(self, history: Any) -> dict[str, Any] | None:
        ref = self._build(history)
        return {"median_reference": ref} if ref else None

    def update(self, state: dict[str, Any]) -> None:
        ref = state.get("median_reference")
        if ref:
            self.reference = ref

    def should_stop(self, trial: Trial) -> bool:
        if not trial.curve or self.reference is None:
            return False
        step = float(trial.curve[-1][0])
        if step < self._next_check:
            return False
        self._next_check = step + self.every
        steps = np.asarray(self.reference["steps"])
        k = int(np.searchsorted(steps, step, side="right")) - 1
        if k < 0 or step > steps[-1] or self.reference["count"][k] < self.min_trials:
            return False  # (no completed trial reached this step: nothing to compare with)
        median = float(self.reference["median"][k])
        _, values = _curve_arrays(trial.curve)
        best = float(values.min() if self._sign < 0 else values.max())
        # strictly worse, beyond rounding: values such as accuracies repeat exactly, and a
        # tie (equal up to floating-point noise) continues
        tol = TIE_TOLERANCE * max(1.0, abs(median))
        stop = bool(self._sign * best < self._sign * median - tol)
        u = _shown(trial)
        n_ref = int(self.reference["count"][k])
        self.last = {"rule": "median", "step": step, "best_so_far": u * best,
                     "median": u * median, "threshold": u * median,
                     "reference_trials": n_ref, "decision": "stop" if stop else "continue",
                     "reason": (f"best so far {u * best:.6g} "
                                f"{'worse than' if stop else 'not worse than'} the median "
                                f"{u * median:.6g} of {n_ref} trials at step {step:g}")}
        return stop

    def describe(self, trial: Trial) -> dict[str, Any]:
        return dict(self.last)


def passed_rungs(rungs: list[float], trial: Any, history: Any) -> list[float]:
    """The rungs at or below the budget that ``trial``'s configuration already reached in
    an earlier evaluation (``history.reached(config_id)``): a promoted configuration that
    continues from its checkpoint passed them, so a rule must not judge them again."""
    reached = getattr(history, "reached", None)
    if reached is None or getattr(trial, "config_id", None) is None:
        return []
    done = float(reached(trial.config_id))
    return [r for r in rungs if r <= done * (1 + 1e-12)]


class RungStopping(StoppingRule):
    """The stopping variant of asynchronous successive halving (ASHA; Li et al., MLSys 2020),
    as a rule inside the trial: the run's scheduler's rung decision made where the trial runs.

    Rungs lie at ``min_step * eta**k`` steps below the trial's budget. When a trial first
    reports at or past a rung, its value there is compared with the values every other trial
    (finished, stopped or still running) reported at that rung: it continues only if it is in
    the best ``1/eta`` of them (not worse than their ``1/eta`` quantile), and stops otherwise.
    Until ``min_trials`` others have reached a rung, trials pass it. This is the "stopping"
    type of ASHA (Ray Tune's ``ASHAScheduler``, Syne Tune's ``type="stopping"``); with a
    random-search or any other optimizer it makes every trial a candidate for early stopping,
    while lowfi's ``"asha"`` optimizer is the promotion type.

    Parameters
    ----------
    min_step
        The first rung (e.g. 1 epoch).
    eta
        Reduction factor (default 3): the best ``1/eta`` continue at each rung.
    min_trials
        Other trials needed at a rung before it can stop anyone (default 1, as Ray Tune).
    direction
        ``"minimize"`` when reported values are losses (default), else ``"maximize"``.
    """

    uses_running_curves = True

    def __init__(self, min_step: float = 1, eta: float = 3, min_trials: int = 1,
                 direction: str = "minimize"):
        _check_pos("min_step", min_step)
        if isinstance(eta, bool) or not isinstance(eta, int | float) or not eta > 1:
            raise ValueError(f"eta: got {eta!r}; allowed is a number > 1")
        _check_pos("min_trials", min_trials, integer=True)
        self.min_step, self.eta, self.min_trials = float(min_step), float(eta), int(min_trials)
        self.direction = direction
        self._sign = check_direction(direction)
        self.rung_values: dict[float, list[tuple[int, float]]] = {}
        self.horizon: float | None = None
        self.trial_id = -1
        self.passed: list[float] = []
        self.last: dict[str, Any] = {}

    def rungs(self, horizon: float) -> list[float]:
        """Rung steps ``min_step * eta**k`` strictly below ``horizon``."""
        out, r = [], self.min_step
        while r < horizon * (1 - 1e-12):
            out.append(r)
            r *= self.eta
        return out

    def _build(self, history: Any) -> dict[float, list[tuple[int, float]]]:
        horizon = _reference_horizon(history)
        levels = self.rungs(max(horizon, self.min_step * self.eta))
        out: dict[float, list[tuple[int, float]]] = {r: [] for r in levels}
        for tid, s, v in _reference_curves(history, running=True):
            for r in levels:
                k = int(np.searchsorted(s, r, side="left"))  # first report at or past r
                if k < len(s):
                    out[r].append((tid, float(v[k])))
        return out

    def for_trial(self, trial: TrialLike, history: Any) -> StoppingRule:
        snap = copy.copy(self)
        snap.rung_values = self._build(history)
        snap.horizon = float(trial.budget)
        snap.trial_id = int(trial.id)
        # rungs this configuration already passed in an earlier evaluation (a promotion that
        # continues from a checkpoint) are not judged again
        snap.passed = passed_rungs(self.rungs(snap.horizon), trial, history)
        snap.last = {}
        return snap

    def shared(self, history: Any) -> dict[str, Any] | None:
        vals = self._build(history)
        return {"rung_values": [[r, v] for r, v in vals.items()]} if vals else None

    def update(self, state: dict[str, Any]) -> None:
        vals = state.get("rung_values")
        if vals:
            self.rung_values = {float(r): [(int(t), float(x)) for t, x in v] for r, v in vals}

    def should_stop(self, trial: Trial) -> bool:
        if not trial.curve or self.horizon is None:
            return False
        steps, values = _curve_arrays(trial.curve)
        for r in self.rungs(self.horizon):
            if r in self.passed:
                continue
            k = int(np.searchsorted(steps, r, side="left"))
            if k >= len(steps):
                return False  # not there yet
            mine = float(values[k])
            others = [x for t, x in self.rung_values.get(r, []) if t != self.trial_id]
            self.passed.append(r)
            if len(others) < self.min_trials:
                continue
            q = 1.0 / self.eta if self._sign < 0 else 1.0 - 1.0 / self.eta
            cutoff = float(np.quantile(others, q))
            u = _shown(trial)
            stop = bool(self._sign * mine < self._sign * cutoff)
            self.last = {"rule": "rung", "rung": r, "value": u * mine, "cutoff": u * cutoff,
                         "threshold": u * cutoff, "reference_trials": len(others),
                         "decision": "stop" if stop else "continue",
                         "reason": (f"value {u * mine:.6g} "
                                    f"{'worse than' if stop else 'within'} the best "
                                    f"1/{self.eta:g} of {len(others)} trials at rung {r:g} "
                                    f"(cutoff {u * cutoff:.6g})")}
            if stop:
                return True
        return False

    def describe(self, trial: Trial) -> dict[str, Any]:
        return dict(self.last)


class PredictiveRungStopping(StoppingRule):
    """ASHA's rung decision on *predicted final values* (a promotion rule for Hyperband/ASHA).

    The rungs are those of :class:`RungStopping` (``min_step * eta**k`` steps below the
    trial's budget), and, as there, a trial continues past a rung only if it is among the best
    ``1/eta`` of the trials that reached the rung. The comparison is made on where each curve
    is heading rather than where it is: every trial's curve up to the rung is extrapolated to
    the run's largest budget (one step for every trial, whatever its bracket's budget; a tie
    continues) with the default curve model (:class:`lowfi.curves.FastExtrapolator`, all
    reference curves in one batched call), so a slow starter that is still improving fast is
    promoted over a curve that has flattened. Every trial is judged from the same information,
    its own curve up to the rung; where fewer than ``min_points`` points lie up to a rung, the
    observed value is used for everyone (as :class:`RungStopping`). This combines the
    successive-halving schedule of ASHA (Li et al., MLSys 2020) with the learning-curve
    extrapolation of Domhan et al. (IJCAI 2015).

    Parameters
    ----------
    min_step, eta, min_trials, direction
        As in :class:`RungStopping`.
    bounds
        Optional range of the metric (e.g. ``(0, 1)`` for error rates).
    min_points
        Points needed up to a rung before predictions replace observed values (default 4).
    **extrapolator
        Keyword arguments for :class:`~lowfi.curves.FastExtrapolator`.
    """

    uses_running_curves = True

    def __init__(self, min_step: float = 1, eta: float = 3, min_trials: int = 1,
                 direction: str = "minimize", bounds: tuple[float, float] | None = None,
                 min_points: int = 4, **extrapolator: Any):
        _check_pos("min_step", min_step)
        if isinstance(eta, bool) or not isinstance(eta, int | float) or not eta > 1:
            raise ValueError(f"eta: got {eta!r}; allowed is a number > 1")
        _check_pos("min_trials", min_trials, integer=True)
        if not isinstance(min_points, int) or min_points < 3:
            raise ValueError(f"min_points: got {min_points!r}; allowed is an int >= 3")
        from lowfi.curves.fast import FastExtrapolator

        self.min_step, self.eta, self.min_trials = float(min_step), float(eta), int(min_trials)
        self.min_points = int(min_points)
        self.direction = direction
        self._sign = check_direction(direction)
        self.bounds = bounds
        self.extrapolator = dict(extrapolator)
        FastExtrapolator(direction=direction, bounds=bounds, **self.extrapolator)  # validates
        self.rung_values: dict[float, list[tuple[int, float]]] = {}
        self.horizon: float | None = None
        self.reference_horizon: float | None = None
        self.trial_id = -1
        self.passed: list[float] = []
        self.last: dict[str, Any] = {}
        self._cache: dict[tuple[int, float, float], float] = {}

    def rungs(self, horizon: float) -> list[float]:
        """Rung steps ``min_step * eta**k`` strictly below ``horizon``."""
        out, r = [], self.min_step
        while r < horizon * (1 - 1e-12):
            out.append(r)
            r *= self.eta
        return out

    def _ext(self):
        from lowfi.curves.fast import FastExtrapolator

        return FastExtrapolator(direction=self.direction, bounds=self.bounds, **self.extrapolator)

    def _at_rung(self, steps: np.ndarray, values: np.ndarray, r: float) -> int | None:
        """Number of points up to the first report at or past ``r`` (None: not there yet)."""
        k = int(np.searchsorted(steps, r, side="left"))
        return k + 1 if k < len(steps) else None

    def predictions(self, curves: list[tuple[np.ndarray, np.ndarray]], horizon: float
                    ) -> np.ndarray:
        """Predicted values at ``horizon`` of ``(steps, values)`` curves (batched); curves with
        fewer than ``min_points`` points (or repeated steps) keep their last value."""
        out = np.array([float(v[-1]) for _, v in curves])
        pos = [(s > 0) for s, _ in curves]  # the curve families start after step 0
        use = [i for i, (s, _) in enumerate(curves)
               if int(pos[i].sum()) >= self.min_points and np.all(np.diff(s[pos[i]]) > 0)
               and s[-1] < horizon]
        if use:
            preds = self._ext().predict_many([(curves[i][0][pos[i]], curves[i][1][pos[i]])
                                              for i in use], horizon)
            out[use] = [p.mean for p in preds]
        return out

    def _build(self, history: Any) -> dict[float, list[tuple[int, float]]]:
        horizon = _reference_horizon(history)
        levels = self.rungs(max(horizon, self.min_step * self.eta))
        out: dict[float, list[tuple[int, float]]] = {r: [] for r in levels}
        todo, keys = [], []
        for tid, s, v in _reference_curves(history, running=True):
            for r in levels:
                k = self._at_rung(s, v, r)
                if k is None:
                    continue
                key = (tid, r, horizon)
                if key not in self._cache:
                    todo.append((s[:k], v[:k]))
                    keys.append(key)
                out[r].append((tid, key))
        if todo:
            for key, p in zip(keys, self.predictions(todo, horizon), strict=True):
                self._cache[key] = float(p)
        return {r: [(tid, self._cache[key]) for tid, key in vals] for r, vals in out.items()}

    def for_trial(self, trial: TrialLike, history: Any) -> StoppingRule:
        snap = copy.copy(self)
        snap.rung_values = self._build(history)
        snap.reference_horizon = _reference_horizon(history)
        snap._cache = {}
        snap.horizon = float(trial.budget)
        snap.trial_id = int(trial.id)
        snap.passed = passed_rungs(self.rungs(snap.horizon), trial, history)
        snap.last = {}
        return snap

    def shared(self, history: Any) -> dict[str, Any] | None:
        vals = self._build(history)
        return ({"predicted_rung_values": [[r, [[t, x] for t, x in v]] for r, v in vals.items()],
                 "predicted_horizon": _reference_horizon(history)}
                if vals else None)

    def update(self, state: dict[str, Any]) -> None:
        vals = state.get("predicted_rung_values")
        if vals:
            self.rung_values = {float(r): [(int(t), float(x)) for t, x in v] for r, v in vals}
            if state.get("predicted_horizon") is not None:
                self.reference_horizon = float(state["predicted_horizon"])

    def should_stop(self, trial: Trial) -> bool:
        if not trial.curve or self.horizon is None:
            return False
        steps, values = _curve_arrays(trial.curve)
        for r in self.rungs(self.horizon):
            if r in self.passed:
                continue
            k = self._at_rung(steps, values, r)
            if k is None:
                return False  # not there yet
            self.passed.append(r)
            others = [x for t, x in self.rung_values.get(r, []) if t != self.trial_id]
            if len(others) < self.min_trials:
                continue
            # predicted at the step the other trials' curves were predicted at (the run's
            # largest budget), so that a trial of a smaller bracket is judged like them
            horizon = max(getattr(self, "reference_horizon", None) or self.horizon, self.horizon)
            mine = float(self.predictions([(steps[:k], values[:k])], horizon)[0])
            q = 1.0 / self.eta if self._sign < 0 else 1.0 - 1.0 / self.eta
            cutoff = float(np.quantile(others, q))
            # strictly worse, beyond rounding (one curve predicted alone and in a batch may
            # differ in the last bits): a tie continues
            tol = TIE_TOLERANCE * max(1.0, abs(cutoff))
            stop = bool(self._sign * mine < self._sign * cutoff - tol)
            u = _shown(trial)
            self.last = {
                "rule": "predictive-rung", "rung": r, "points": int(k),
                "predicted_final": u * mine, "observed": u * float(values[k - 1]),
                "predicted_at": horizon,
                "threshold": u * cutoff, "quantile": q if u > 0 else 1.0 - q,
                "reference_trials": len(others),
                "decision": "stop" if stop else "continue",
                "reason": (f"predicted final {u * mine:.6g} "
                           f"{'worse than' if stop else 'within'} the best 1/{self.eta:g} "
                           f"of {len(others)} trials at rung {r:g} "
                           f"(cutoff {u * cutoff:.6g})"),
            }
            if stop:
                return True
        return False

    def describe(self, trial: Trial) -> dict[str, Any]:
        return dict(self.last)
