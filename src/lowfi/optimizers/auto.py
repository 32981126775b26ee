"""lowfi's default optimizer (``"auto"``): Hyperband scheduling with a model chosen by the space.

What it does
------------
* **Scheduling**: Hyperband brackets (Li et al., JMLR 2017), as in BOHB (Falkner, Klein &
  Hutter, ICML 2018): cheap budgets sort out bad configurations early, conservative brackets
  start configurations at ``max_budget`` in case cheap budgets mislead, and while every open
  bracket waits for results the next one starts, so 1..N asynchronous workers stay busy.
* **Which model proposes new configurations**, chosen once from the search space
  (:func:`choose_model`):

  - ``"gp"`` -- spaces with at most ``max_gp_features`` GP inputs (categoricals one-hot;
    numerical, mixed, categorical or conditional, inactive parameters imputed outside their
    range as :class:`lowfi.models.gp.GPFeatures` does): one Gaussian process over
    configuration *and* budget (Matern-5/2 ARD over ``[x, s]`` with ``s`` the budget on a log
    scale in [0, 1], marginal-likelihood hyperparameters, :class:`lowfi.models.gp.GP`) fit to
    the observations of every budget, as the multi-fidelity GPs of FABOLAS (Klein et al.,
    AISTATS 2017) and MOBSTER (Klein et al., 2020) do instead of one model per budget. New
    configurations maximize expected improvement (Jones, Schonlau & Welch 1998) *at
    max_budget* (``s = 1``) over the best posterior mean there, over random configurations
    plus perturbations of the best ones (coarse, then fine). Running configurations enter the
    model as kriging-believer fantasies so parallel asks spread out. ``joint=False`` fits the
    GP to the model budget's observations only (BOHB's per-budget rule).
  - ``"tpe"`` -- too many features for a GP: the Tree-structured Parzen
    Estimator (Bergstra, Bardenet, Bengio & Kegl, NeurIPS 2011;
    :class:`~lowfi.optimizers.tpe.TPEProposer`) on the largest budget with ``min_points``
    observations: one-dimensional Parzen estimators of the best ``gamma`` = 10 % and of the
    rest, and the best density ratio among 24 draws from the good one. Its one-dimensional
    estimators model a budget from 10 observations on, where BOHB's joint KDE needs
    dimensions + 3 (37 on NAS-Bench-301), so the model learns from larger budgets sooner.
  - ``"kde"`` (asked for with ``model="kde"``, or a space with nothing to model) -- BOHB's density-ratio sampler
    (:class:`~lowfi.optimizers.bohb.KDEProposer`) on the largest budget with enough data.
  - ``"rf"`` (only when asked for with ``model="rf"``) -- SMAC's random forest with expected
    improvement and local search in the one-exchange neighbourhood (Hutter, Hoos &
    Leyton-Brown 2011; :class:`~lowfi.optimizers.smac.RFProposer`) on the largest budget with
    enough data.

* **When the model starts**: BOHB's rule -- once some budget has ``min_points`` observations;
  that budget (the largest such) is also the one whose data TPE, the KDE and the forest learn from,
  and the one from which up the joint GP keeps every observation when it must subsample.
* **Robustness**: a fraction ``random_fraction`` of new configurations is drawn at random
  (BOHB's interleaving; it keeps the search from locking onto a wrong model): 10 % with the
  GP, TPE and the forest, and BOHB's 1/3 with the KDE (so ``model="kde"`` is BOHB with the
  paper's settings).
* **Overhead at scale**: models refit only when their data changed; the GP re-optimizes its
  hyperparameters on a geometric schedule -- when the number of observations (all of them,
  not only those the GP is fit to) grew by a quarter since the last time, so every ~n/4 tells
  -- on at most 100 points, warm-started from the previous values (random restarts only
  while every observation is in the model), and otherwise only re-factorizes; it sees at
  most ``max_gp_points`` observations (those at the model budget and above first, then the
  best half and the most recent rest of the others). Running configurations are fantasized
  in a copy of the GP, so the model of the observations is never refit for them. Spaces too
  wide for a GP use TPE.

Seeded and resumable like every lowfi optimizer: one generator (``seed``), no clock, no
threads; the same seed and the same sequence of tells give the same asks, and a pickled
optimizer continues exactly.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import numpy as np

from lowfi.core.history import History
from lowfi.core.seeding import SeedLike, spawn
from lowfi.optimizers.base import Proposer
from lowfi.optimizers.hyperband import Hyperband
from lowfi.space import Space

MODELS = ("auto", "gp", "tpe", "kde", "rf", "random")
_TPE_TRIES = 8  # TPE proposals tried before a random draw when they repeat configurations
_FAR = 100.0  # a loss this many spreads (median - q10) above the median: diverged
_FENCE = 3.0  # then losses above median + _FENCE spreads are compressed for the GP


def gp_feature_count(space: Space) -> int:
    """Number of GP inputs for ``space`` (categoricals one-hot, constants dropped)."""
    n = 0
    for kind, k in zip(space.kinds, space.n_choices):
        if kind == "const":
            continue
        n += int(k) if kind == "cat" else 1
    return n


def choose_model(space: Any, max_gp_features: int = 64) -> str:
    """The model ``"auto"`` uses for ``space``: ``"gp"``, ``"tpe"`` or ``"kde"``.

    * more than ``max_gp_features`` GP inputs (categoricals one-hot) -> ``"tpe"``
      (one-dimensional Parzen estimators, inactive values imputed; inside Hyperband on the
      conditional NAS-Bench-301 surrogate, 234 inputs, it was far ahead of BOHB's KDE at 50x
      max_budget and level with it earlier, and level with the random forest at about 1/20 of
      its time per evaluation, see docs/benchmarks/default-optimizer.md);
    * nothing to model (only constants) -> ``"kde"``;
    * otherwise -> ``"gp"``: numerical, mixed, small categorical and conditional spaces alike
      (the joint GP over one-hot categoricals beat the KDE on NAS-Bench-201's 6 x 5 choices;
      on conditional spaces inactive parameters are imputed outside their range, and the GP
      was far ahead of TPE and the KDE on two conditional problems, same page).

    The random forest (``"rf"``) is available by name (``model="rf"``).
    """
    space = Space.from_any(space)
    live = [k for k, n in zip(space.kinds, space.n_values) if k != "const" and n != 1]
    if not live:
        return "kde"
    if gp_feature_count(space) > max_gp_features:
        return "tpe"
    return "gp"


def robust_targets(y: np.ndarray) -> np.ndarray:
    """Losses as the GP sees them. When some lie far above the typical ones -- more than
    ``_FAR`` spreads above the median, as where training diverged (losses of 1e10, or up to the
    largest float) -- the losses above Tukey's "far out" fence on the better half,
    ``median + 3 d`` with ``d = median - q10``, are compressed: ``v`` becomes
    ``fence + d log(1 + log(1 + (v - fence) / d))`` (order kept; even the largest float lands
    within ``7 d`` of the fence), so they neither flatten the model of the good region nor
    overflow it. Without such values the losses are used as they are."""
    y = np.asarray(y, dtype=float)
    if len(y) < 4:
        return np.clip(y, -1e150, 1e150)
    q10, med = np.quantile(y, [0.1, 0.5])
    d = med - q10
    if not (np.isfinite(d) and d > 0):
        d = float(np.ptp(np.clip(y, -1e150, 1e150))) or 1.0
    if not y.max() > med + _FAR * d:
        return y
    fence = med + _FENCE * d
    over = y > fence
    out = y.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        out[over] = fence + d * np.log1p(np.log1p(np.minimum((y[over] - fence) / d, 1e300)))
    return out


class _GPModel:
    """A GP over (configuration, budget) -- or, with ``joint=False``, over the configurations
    of one budget -- with expected improvement at the top budget, cached between asks (see
    the module docstring). Running configurations are fantasized at the top budget."""

    def __init__(self, space: Space, rng: np.random.Generator, max_points: int, n_candidates: int,
                 joint: bool = False, budget_range: tuple[float, float] = (1.0, 1.0)):
        from lowfi.models.gp import GP, GPFeatures

        self.space, self.rng = space, rng
        self.features = GPFeatures(space)
        self.gp = GP(seed=spawn(rng), n_restarts=1, restart_every=3, max_exact=max_points + 64,
                     n_hyper=min(100, max_points))
        self.max_points = int(max_points)
        self.n_candidates = int(n_candidates)
        self.joint, self.budget_range = bool(joint), budget_range
        self._key: tuple | None = None
        self._opt_n = 0  # data size at the last hyperparameter optimization
        self._opt_budget: float | None = None
        self._X = self._y = None
        self._plan: tuple | None = None
        self._upto = 0
        self._plain: bool | None = None
        self._losses: list[float] = []
        self._budgets: list[float] = []
        self._data: tuple = (np.empty((0, space.dim)), np.empty(0), np.empty(0))
        self.n_optimizations = 0

    def _subset(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(y)
        if n <= self.max_points:
            return X, y
        half = self.max_points // 2
        best = np.argsort(y, kind="stable")[:half]
        rest = np.setdiff1d(np.arange(n), best)[-(self.max_points - half):]
        keep = np.sort(np.concatenate([best, rest]))
        return X[keep], y[keep]

    def _all_data(self, history: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encoded configurations, losses (failed: the worst loss at their budget) and budgets
        of every record, kept up to date incrementally."""
        recs = history.records
        if self._upto < len(recs):
            new = recs[self._upto:]
            for r in new:
                loss = r.loss[0] if isinstance(r.loss, tuple) else r.loss
                self._losses.append(np.nan if r.failed or loss is None else float(loss))
                self._budgets.append(r.budget)
            # encoded rows in a buffer that grows by doubling: O(new rows) per call, where
            # stacking every row again would be O(n)
            Xn = np.asarray(self.space.encode(r.config for r in new), dtype=float).reshape(len(new), -1)
            buf = getattr(self, "_Xbuf", None)
            if buf is None or len(buf) < len(recs):
                grown = np.empty((max(64, 2 * len(recs)), self.space.dim))
                if buf is not None:
                    grown[:self._upto] = buf[:self._upto]
                self._Xbuf = buf = grown
            buf[self._upto:len(recs)] = Xn
            self._upto = len(recs)
            X = buf[:len(recs)]
            y = np.asarray(self._losses, dtype=float)
            b = np.asarray(self._budgets, dtype=float)
            bad = ~np.isfinite(y)
            if bad.any():  # failures count as the worst loss seen at their budget
                for bb in np.unique(b[bad]):
                    at = b == bb
                    good = at & ~bad
                    y[at & bad] = y[good].max() if good.any() else np.nan
            self._data = (X, y, b)
        return self._data

    def _joint_data(self, history: History, budget: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Observations at every budget with their budget feature: all those at ``budget`` and
        above, then the best half and the most recent rest of the lower ones, up to the cap."""
        Xa, ya, ba = self._all_data(history)
        ok = np.isfinite(ya)
        lo_b, hi_b = self.budget_range
        sa = np.log(ba / lo_b) / np.log(hi_b / lo_b) if hi_b > lo_b else np.ones(len(ba))
        hi = ok & (ba >= budget)
        lo = ok & (ba < budget)
        X, y, s = Xa[hi], ya[hi], sa[hi]
        if len(y) > self.max_points:
            Xs, y = self._subset(np.column_stack([X, s]), y)
            X, s = Xs[:, :-1], Xs[:, -1]
        room = self.max_points - len(y)
        if lo.any() and room > 0:
            Xl, yl, sl = Xa[lo], ya[lo], sa[lo]
            keep = np.arange(len(yl))
            if len(yl) > room:
                half = room // 2
                best = np.argsort(yl, kind="stable")[:half]
                rest = np.setdiff1d(keep, best)[-(room - half):]
                keep = np.sort(np.concatenate([best, rest]))
            X, y, s = np.vstack([X, Xl[keep]]), np.concatenate([y, yl[keep]]), np.concatenate([s, sl[keep]])
        return X, y, s

    def fit(self, history: History, budget: float) -> bool:
        key = (float(budget), len(history.records) if self.joint else history.count(budget))
        if key == self._key:
            return self._X is not None
        self._key = key
        if self.joint:
            X, y, s = self._joint_data(history, budget)
            n_all = int(np.isfinite(self._data[1]).sum())
        else:
            X, y = history.observations(budget, failed="worst")
            ok = np.isfinite(y)
            n_all = int(ok.sum())
            X, y = self._subset(X[ok], y[ok])
            s = None
        y = robust_targets(y)
        if len(y) < 2 or not np.ptp(y) > 0 or not np.all(np.isfinite(y)):
            self._X = None
            return False
        n = len(y)
        # hyperparameters: re-optimized when the observations (all of them, not only the
        # subset the GP sees) grew by a quarter -- every ~n/4 tells, so the cost per tell falls
        # as n grows -- warm-started from the previous values; random restarts only while every
        # observation is in the model (later the warm start is already fit to similar data)
        optimize = ((self._opt_budget != float(budget) and not self.joint)
                    or n_all >= 1.25 * self._opt_n)
        from lowfi.models.gp import blas_single_thread

        F = self._transform(X, s)
        if optimize:
            self.gp.n_restarts = 1 if n_all <= self.max_points else 0
        try:
            with blas_single_thread():
                self.gp.fit(F, y, optimize=optimize)
                mu = self.gp.predict_mean(self._transform(X, np.ones(n))) if self.joint else y
        except np.linalg.LinAlgError:
            self._X = None  # a model that cannot be fit proposes nothing: random draws instead
            return False
        if optimize:
            self._opt_budget, self._opt_n = float(budget), n_all
            self.n_optimizations += 1
        self._X, self._y, self._F = X, y, F
        # incumbent value for EI: the best predicted loss at the top budget (joint model), or
        # the best observed loss
        self._best = float(mu.min())
        self._top = X[np.argsort(mu, kind="stable")[:5]]
        return True

    def _local(self, X_best: np.ndarray, n: int, scale: float) -> np.ndarray:
        """``n`` perturbations of rows of ``X_best``: Gaussian steps of ``scale`` on numerical
        parameters, each categorical flipped to a random value with probability 0.15 (as
        :func:`lowfi.optimizers.gp.local_candidates`); spaces with integers, ordinals,
        conditions or forbidden clauses are repaired by the space, others only clipped."""
        sp = self.space
        if self._plain is None:
            self._plain = not (sp.has_conditions or sp.cs.forbidden_clauses
                               or any(k in ("int", "ord") for k in sp.kinds))
            self._num = np.flatnonzero(np.array([k == "float" for k in sp.kinds]))
            self._cat = np.flatnonzero(sp.is_categorical | sp.is_ordinal)
        if not self._plain:
            from lowfi.optimizers.gp import local_candidates

            return local_candidates(sp, X_best, self.rng, n, scale=scale)
        if len(X_best) == 0 or n <= 0:
            return np.empty((0, sp.dim))
        base = X_best[self.rng.integers(len(X_best), size=n)].copy()
        if len(self._num):
            base[:, self._num] = np.clip(
                base[:, self._num] + scale * self.rng.standard_normal((n, len(self._num))), 0.0, 1.0)
        if len(self._cat):
            flip = self.rng.random((n, len(self._cat))) < 0.15
            new = np.floor(self.rng.random((n, len(self._cat))) * sp.n_choices[self._cat])
            base[:, self._cat] = np.where(flip, new, base[:, self._cat])
        return base

    def propose(self, history: History, budget: float, avoid: set) -> dict[str, Any] | None:
        from lowfi.models.gp import blas_single_thread
        from lowfi.optimizers.gp import expected_improvement

        with blas_single_thread():
            gp = self.gp
            pend = history.pending_vectors()
            if len(pend):  # kriging believer: running configurations count as seen at their mean
                Fp = self._transform(pend)
                mp = gp.predict_mean(Fp)
                gp = copy.copy(self.gp)  # same hyperparameters; the model of the observations stays
                gp.fit(np.vstack([self._F, Fp]), np.concatenate([self._y, mp]), optimize=False)
            best_y = self._best
            top = self._top
            n = self.n_candidates
            cand = np.vstack([self.space.sample_vectors(self.rng, n // 2),
                              self._local(top, n // 4, 0.1), self._local(top[:1], n // 8, 0.02)])
            mean, var = gp.predict(self._transform(cand))
            score = expected_improvement(mean, var, best_y)
            # fine stage: perturb the best few candidates a little
            lead = cand[np.argsort(-score, kind="stable")[:4]]
            fine = self._local(lead, n // 8, 0.02)
            if len(fine):
                m2, v2 = gp.predict(self._transform(fine))
                cand = np.vstack([cand, fine])
                score = np.concatenate([score, expected_improvement(m2, v2, best_y)])
        order = np.argsort(-score, kind="stable")[:16]
        first = self.space.to_dicts(cand[order[:1]])[0]
        if self.space.key(first) not in avoid:
            return first
        for c in self.space.to_dicts(cand[order[1:]]):  # duplicates: decode the runners-up
            if self.space.key(c) not in avoid:
                return c
        return None

    def _transform(self, X: np.ndarray, s: np.ndarray | None = None) -> np.ndarray:
        """``GPFeatures.transform`` vectorized (one-hot categoricals, inactive values imputed);
        the joint model appends the budget feature (``s``, default the top budget)."""
        if self._plan is None:
            f = self.features
            num_src, num_dst, num_scale, cat_src, cat_dst, cat_w = [], [], [], [], [], []
            for i, kind, k, width in f.blocks:
                if kind == "cat":
                    cat_src.append(i), cat_dst.append(k), cat_w.append(width)
                else:
                    num_src.append(i), num_dst.append(k)
                    num_scale.append(1.0 / max(int(self.space.n_choices[i]) - 1, 1) if kind == "ord" else 1.0)
            self._plan = tuple(np.asarray(a) for a in (num_src, num_dst, num_scale, cat_src, cat_dst, cat_w))
        num_src, num_dst, num_scale, cat_src, cat_dst, cat_w = self._plan
        X = np.asarray(X, dtype=float)
        F = np.zeros((len(X), self.features.n_features))
        if len(num_src):
            V = X[:, num_src]
            F[:, num_dst] = np.where(np.isnan(V), self.features.inactive, V * num_scale)
        if len(cat_src):
            C = X[:, cat_src]
            ok = ~np.isnan(C)
            idx = np.clip(np.nan_to_num(C, nan=0.0).round().astype(int), 0, cat_w - 1) + cat_dst
            rows = np.broadcast_to(np.arange(len(X))[:, None], idx.shape)
            F[rows[ok], idx[ok]] = 1.0
        if self.joint:
            F = np.column_stack([F, np.ones(len(X)) if s is None else s])
        return F


class _RFModel:
    """SMAC's random forest and local search at one budget, refit when that budget's data changed."""

    def __init__(self, space: Space, rng: np.random.Generator):
        from lowfi.optimizers.smac import RFProposer

        self.rf = RFProposer(n_init=0, random_fraction=0.0, n_random=200, n_local=5, max_steps=8)
        self.rf.bind(space, rng)
        self.space = space
        self._key: tuple | None = None
        self._ok = False

    def fit(self, history: History, budget: float) -> bool:
        key = (float(budget), history.count(budget))
        if key != self._key:
            self._key = key
            self.rf._fit_key = None
            self._ok = self.rf._fit(history, budget)
        return self._ok

    def propose(self, history: History, budget: float, avoid: set) -> dict[str, Any] | None:
        x = self.rf._maximize(history)
        c = self.space.to_dicts(x[None, :])[0]
        return None if self.space.key(c) in avoid else c


class _TPEModel:
    """TPE's density ratio (:class:`~lowfi.optimizers.tpe.TPEProposer`, one-dimensional Parzen
    estimators, ``gamma`` = 0.1, 24 candidates) on the observations of one budget."""

    def __init__(self, space: Space, rng: np.random.Generator, gamma: float = 0.1):
        from lowfi.optimizers.tpe import TPEProposer

        self.tpe = TPEProposer(n_startup=2, gamma=gamma)
        self.tpe.bind(space, rng)

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        return self.tpe.propose(history, budget)


class AutoProposer(Proposer):
    """The proposer of :class:`Auto`: random interleaving, BOHB's budget rule, and a GP, TPE,
    KDE or random-forest model chosen from the space (see the module docstring).

    Parameters
    ----------
    model
        ``"auto"`` (choose from the space), or force ``"gp"``, ``"tpe"``, ``"kde"``, ``"rf"``,
        ``"random"``.
    random_fraction
        Fraction of new configurations drawn at random (default None: 0.1 with the GP, TPE
        and the forest, 1/3 -- BOHB's -- with the KDE).
    min_points
        Observations a budget needs before its model is used (default: modelled
        dimensions + 1, at least 5 and at most 12 for GP/RF; 10 for TPE, Optuna's number of
        startup trials; BOHB's ``dimensions + 3`` for KDE).
    max_gp_features, max_gp_points, n_candidates
        GP limits: most inputs (one-hot) for choosing the GP, most observations it is fit to,
        and candidates scored per proposal.
    joint
        One GP over (configuration, budget) fit to every budget's data, EI at max_budget
        (default); False: a GP on the model budget's data only.
    """

    def __init__(self, model: str = "auto", random_fraction: float | None = None,
                 min_points: int | None = None, max_gp_features: int = 64,
                 max_gp_points: int = 100, n_candidates: int = 256, joint: bool = True):
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"model: got {model!r}; allowed are {', '.join(MODELS)}")
        if random_fraction is not None and (
                not isinstance(random_fraction, numbers.Real) or isinstance(random_fraction, bool)
                or not 0 <= random_fraction <= 1):
            raise ValueError(f"random_fraction: got {random_fraction!r}; allowed are None or numbers in [0, 1]")
        if min_points is not None and (not isinstance(min_points, numbers.Integral) or min_points < 2):
            raise ValueError(f"min_points: got {min_points!r}; allowed are None or an int >= 2")
        for name, v, lo in (("max_gp_features", max_gp_features, 1), ("max_gp_points", max_gp_points, 10),
                            ("n_candidates", n_candidates, 8)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name}: got {v!r}; allowed are ints >= {lo}")
        self.requested = model
        #: as given (None: chosen with the model at bind time)
        self.random_fraction_arg = random_fraction
        self.random_fraction = 0.1 if random_fraction is None else float(random_fraction)
        self.min_points = min_points
        self.max_gp_features = int(max_gp_features)
        self.max_gp_points = int(max_gp_points)
        self.n_candidates = int(n_candidates)
        if not isinstance(joint, bool | np.bool_):
            raise ValueError(f"joint: got {joint!r}; allowed are True or False")
        self.joint = bool(joint)
        #: the model in use: "gp", "tpe", "kde", "rf" or "random"
        self.model: str | None = None
        self.n_model = 0
        self.n_random = 0
        #: budget whose data the last model proposal came from (None: random)
        self.last_model_budget: float | None = None
        self._impl: Any = None
        self._buffer: list[dict[str, Any]] = []
        self._seen_keys: dict[float, set] = {}
        self._seen_upto = 0
        #: keys of configurations an open bracket may still promote (set by :class:`Auto`)
        self.alive: Any = None

    def bind(self, space: Space, rng: np.random.Generator) -> AutoProposer:
        super().bind(space, rng)
        self.model = (choose_model(space, self.max_gp_features) if self.requested == "auto"
                      else self.requested)
        if self.random_fraction_arg is None:
            self.random_fraction = 1 / 3 if self.model == "kde" else 0.1
        sub = spawn(rng)
        if self.model == "gp":
            self._impl = _GPModel(space, sub, self.max_gp_points, self.n_candidates, joint=self.joint)
        elif self.model == "rf":
            self._impl = _RFModel(space, sub)
        elif self.model == "tpe":
            self._impl = _TPEModel(space, sub)
        elif self.model == "kde":
            from lowfi.optimizers.bohb import KDEProposer

            self._impl = KDEProposer(random_fraction=0.0, min_points_in_model=self.min_points)
            self._impl.bind(space, sub)
        return self

    @property
    def n_min(self) -> int:
        if self.min_points is not None:
            return int(self.min_points)
        if self.model == "tpe":
            return 10
        modelled = int(np.sum(~self.space.is_constant & (self.space.n_values != 1)))
        return int(min(max(modelled + 1, 5), 12))

    def model_budget(self, history: History) -> float | None:
        """The largest budget with at least :attr:`n_min` observations (None if none has)."""
        if self.model == "kde":
            return self._impl.model_budget(history)
        for b in reversed(history.budgets):
            if history.count(b) >= self.n_min:
                return b
        return None

    def _seen(self, history: History, budget: float) -> set:
        """Keys of the configurations evaluated at ``budget`` or above (kept up to date
        incrementally): one measured at a higher budget would only be promoted to budgets it
        already has."""
        recs = history.records
        for r in recs[self._seen_upto:]:
            self._seen_keys.setdefault(float(r.budget), set()).add(self.space.key(r.config))
        self._seen_upto = len(recs)
        at = [keys for b, keys in self._seen_keys.items() if b >= float(budget) * (1 - 1e-12)]
        return at[0] if len(at) == 1 else set().union(*at)

    def _avoid(self, history: History, budget: float) -> set:
        """Keys of configurations a new proposal at ``budget`` must not repeat: those running,
        those evaluated at ``budget`` or above, and those an open bracket may still promote
        (so that one configuration never runs twice at a budget under two ids)."""
        keys = {self.space.key(c) for c in history.pending_configs()} | self._seen(history, budget)
        alive = getattr(self, "alive", None)
        if alive is not None:
            keys |= alive()
        return keys

    def _random(self, history: History, budget: float, avoid: set | None = None) -> dict[str, Any]:
        """A random configuration outside :meth:`_avoid` (after ``max_retries`` draws of a
        nearly exhausted space, the last draw)."""
        self.n_random += 1
        self.last_model_budget = None
        avoid = self._avoid(history, budget) if avoid is None else avoid
        config = None
        for _ in range(self.max_retries):
            if not self._buffer:
                self._buffer = self.space.sample(self.rng, 64)[::-1]
            config = self._buffer.pop()
            if self.space.key(config) not in avoid:
                break
        return config

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        if self.model == "random" or self.rng.random() < self.random_fraction:
            return self._random(history, budget)
        b = self.model_budget(history)
        if b is None:
            return self._random(history, budget)
        if self.model == "kde":
            config = self._impl.propose(history, budget)
            if self._impl.last_model_budget is None:
                self.n_random += 1
                self.last_model_budget = None
            else:
                self.n_model += 1
                self.last_model_budget = b
            return config
        avoid = self._avoid(history, budget)
        if self.model == "tpe":
            for _ in range(_TPE_TRIES):  # its draws repeat configurations of discrete spaces
                config = self._impl.propose(history, b)
                if self.space.key(config) not in avoid:
                    self.n_model += 1
                    self.last_model_budget = b
                    return config
            return self._random(history, budget, avoid)
        if not self._impl.fit(history, b):
            return self._random(history, budget, avoid)
        config = self._impl.propose(history, b, avoid)
        if config is None:
            return self._random(history, budget, avoid)
        self.n_model += 1
        self.last_model_budget = b
        return config


class Auto(Hyperband):
    """lowfi's default optimizer: Hyperband brackets whose new configurations come from a GP,
    TPE, KDE or random-forest model chosen from the search space (module docstring).

    Parameters
    ----------
    space
        Search space (ConfigSpace ``ConfigurationSpace``, dict shorthand or ``Space``).
    min_budget, max_budget, eta
        Hyperband's budget range and reduction factor.
    seed
        Seed of the optimizer's random generator.
    model
        ``"auto"`` (default: chosen from the space), ``"gp"``, ``"tpe"``, ``"kde"``, ``"rf"`` or
        ``"random"``.
    random_fraction, min_points, max_gp_features, max_gp_points, n_candidates, joint
        See :class:`AutoProposer`.
    max_brackets
        Stop after this many brackets (None: run until the caller stops asking).
    budget_type
        As for :class:`~lowfi.optimizers.hyperband.Hyperband` (e.g. ``int`` budgets).

    Examples
    --------
    >>> opt = Auto({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, seed=0)
    >>> opt.model
    'gp'
    >>> t = opt.ask(); opt.tell(t, t.config["x"] ** 2).status.value
    'ok'
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 seed: SeedLike = None, model: str = "auto", random_fraction: float | None = None,
                 min_points: int | None = None, max_gp_features: int = 64,
                 max_gp_points: int = 100, n_candidates: int = 256, joint: bool = True,
                 max_brackets: int | None = None, budget_type: Any = None):
        proposer = AutoProposer(model=model, random_fraction=random_fraction, min_points=min_points,
                                max_gp_features=max_gp_features, max_gp_points=max_gp_points,
                                n_candidates=n_candidates, joint=joint)
        super().__init__(space, min_budget, max_budget, eta, proposer=proposer, seed=seed,
                         max_brackets=max_brackets, budget_type=budget_type)
        if isinstance(self.proposer._impl, _GPModel):
            self.proposer._impl.budget_range = (self.min_budget, self.max_budget)
        self.proposer.alive = self._alive

    def _alive(self) -> set:
        """Keys of the configurations waiting in an open bracket for their rung to finish
        or for their promotion to be handed out."""
        keys = self.__dict__.setdefault("_alive_keys", {})  # config id -> key, computed once
        out = set()
        for br in self.brackets.values():
            for cid, cfg in [(r[2], r[3]) for r in br.results] + [(q[0], q[1]) for q in br.queue]:
                k = keys.get(cid)
                if k is None:
                    k = keys[cid] = self.space.key(cfg)
                out.add(k)
        return out

    def __setstate__(self, state: dict) -> None:  # runs pickled before the bracket check
        self.__dict__.update(state)
        if getattr(self.proposer, "alive", None) is None:
            self.proposer.alive = self._alive

    @property
    def model(self) -> str:
        """The model proposing configurations: ``"gp"``, ``"tpe"``, ``"kde"``, ``"rf"`` or ``"random"``."""
        return self.proposer.model


__all__ = ["Auto", "AutoProposer", "choose_model", "gp_feature_count", "MODELS"]
