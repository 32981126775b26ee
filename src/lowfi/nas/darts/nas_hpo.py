"""Two ways to combine architecture search and hyperparameter optimization, at equal compute.

* **Option 1, NAS then HPO** (the Auto-DispNet recipe, Saikia et al., ICCV 2019, as in
  :func:`~lowfi.nas.darts.recipe.nas_then_hpo`): one DARTS search (Liu et al., ICLR 2019) with
  fixed search hyperparameters, then a multi-fidelity optimizer (BOHB, Falkner et al. 2018, by
  default) tunes the *training* hyperparameters (learning rate, weight decay, batch size) of
  the found network, with training epochs as the budget.
* **Option 2, HPO around NAS**: the multi-fidelity optimizer tunes the *search* method's own
  hyperparameters -- DARTS' weight learning rate, architecture learning rate, the L2 factor of
  the inner objective and the drop-path probability (RobustDARTS' regularization strengths,
  Zela et al., ICLR 2020) and the warm-start fraction (Auto-DispNet) -- with the number of
  search epochs as the budget. Each evaluation runs a DARTS search with those settings, trains
  the found genotype for a few epochs from scratch and returns its validation error.

Both options are charged in one unit, **training epochs**: one epoch of training a discrete
network on the training set costs 1, one DARTS search epoch costs ``search_epoch_cost``
(the supernet carries every candidate operation on every edge and takes an architecture step
per weight step; on scikit-learn's digits with the benchmark's sizes one search epoch took about
8 training epochs' wall-clock time). Each option runs until the next evaluation would exceed
``budget``; both then train their final choice for ``final_epochs`` (not charged, the same for
both) and report the error on the test split, which neither loop ever sees (the searches use
the two halves ``search_train``/``search_val``, the selection uses ``val``).

>>> from lowfi.nas.darts import compare_nas_hpo                       # doctest: +SKIP
>>> out = compare_nas_hpo(budget=300, seed=0)                          # doctest: +SKIP
>>> out["nas_then_hpo"].test_metric, out["hpo_around_nas"].test_metric  # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.core.trial import Result
from lowfi.nas._torch import require_torch
from lowfi.nas.darts.genotype import Genotype
from lowfi.nas.darts.recipe import hpo_space
from lowfi.nas.darts.search import SearchConfig, darts_search
from lowfi.nas.darts.supernet import SearchEncoderDecoder, SearchNetwork
from lowfi.nas.darts.tasks import build_seeded, digits_task, train_network

torch = require_torch()

#: the search hyperparameters option 2 tunes, with their default ranges and log scale
DARTS_HPO_RANGES: dict[str, tuple[tuple[float, float], bool]] = {
    "lr": ((5e-3, 0.2), True),
    "arch_lr": ((1e-4, 0.1), True),
    "weight_decay": ((1e-5, 1e-2), True),
    "drop_path": ((0.0, 0.3), False),
    "warmstart_fraction": ((0.0, 0.5), False),
}
_LIMITS = {"drop_path": (0.0, 1.0, "0 <= low < high < 1"),
           "warmstart_fraction": (0.0, 1.0, "0 <= low < high <= 1")}
OPTIONS = ("nas_then_hpo", "hpo_around_nas")

_UNSET: Any = object()


def darts_hpo_space(lr: tuple[float, float] | None = _UNSET,
                    arch_lr: tuple[float, float] | None = _UNSET,
                    weight_decay: tuple[float, float] | None = _UNSET,
                    drop_path: tuple[float, float] | None = _UNSET,
                    warmstart_fraction: tuple[float, float] | None = _UNSET):
    """ConfigSpace of DARTS' own hyperparameters, the search space of option 2.

    Each argument is a ``(low, high)`` range; ``None`` leaves that hyperparameter out (the
    search then uses the base :class:`SearchConfig`'s value). ``lr`` (SGD on the weights),
    ``arch_lr`` (Adam on alpha) and ``weight_decay`` (L2 factor of the inner objective) are
    log-scaled; ``drop_path`` (largest scheduled drop-path probability) and
    ``warmstart_fraction`` (share of the search epochs with alpha frozen at uniform) are linear.
    Defaults: :data:`DARTS_HPO_RANGES`.
    """
    from ConfigSpace import ConfigurationSpace, Float

    given = {"lr": lr, "arch_lr": arch_lr, "weight_decay": weight_decay, "drop_path": drop_path,
             "warmstart_fraction": warmstart_fraction}
    cs = ConfigurationSpace()
    hps = []
    for name, value in given.items():
        default, log = DARTS_HPO_RANGES[name]
        if value is _UNSET:
            value = default
        if value is None:
            continue
        if (isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                           and math.isfinite(v) for v in value)):
            raise ValueError(f"{name}: got {value!r}; allowed is a (low, high) pair of finite "
                             "numbers, or None to leave it out")
        low, high = float(value[0]), float(value[1])
        if not low < high:
            raise ValueError(f"{name}: got {value!r}; allowed is low < high")
        if log and low <= 0:
            raise ValueError(f"{name}: got {value!r}; allowed is 0 < low < high (log scale)")
        if name in _LIMITS:
            lo_lim, hi_lim, text = _LIMITS[name]
            if low < lo_lim or high > hi_lim or (name == "drop_path" and high >= 1.0):
                raise ValueError(f"{name}: got {value!r}; allowed is {text}")
        hps.append(Float(name, (low, high), log=log))
    if not hps:
        raise ValueError("darts_hpo_space: every hyperparameter is None; allowed is at least one "
                         f"of {sorted(DARTS_HPO_RANGES)}")
    cs.add(hps)
    return cs


def search_config_for(config: dict[str, Any], base: SearchConfig, epochs: int) -> SearchConfig:
    """The :class:`SearchConfig` of one option-2 evaluation: ``base`` with the tuned fields of
    ``config`` and ``epochs`` search epochs (warm-start epochs ``round(fraction * epochs)``, at
    most ``epochs - 1`` so at least one epoch updates alpha)."""
    kw = asdict(base)
    kw["epochs"] = int(epochs)
    for name in ("lr", "arch_lr", "weight_decay", "drop_path"):
        if name in config:
            kw[name] = float(config[name])
    if "warmstart_fraction" in config:
        kw["warmstart_epochs"] = min(int(round(float(config["warmstart_fraction"]) * epochs)),
                                     int(epochs) - 1)
    kw["lr_min"] = min(kw["lr_min"], kw["lr"])
    return SearchConfig(**kw).validate()


@dataclass
class OptionResult:
    """Outcome of one option of :func:`compare_nas_hpo`.

    Attributes
    ----------
    option : {"nas_then_hpo", "hpo_around_nas"}
    optimizer : str
    genotype : Genotype
        The final architecture.
    best_config : dict
        Option 1: the training hyperparameters; option 2: DARTS' hyperparameters.
    best_budget : float
        Budget (training epochs, resp. search epochs) at which ``best_config`` was selected.
    best_val : float
        Its validation error.
    test_metric : float or None
        Test error of ``genotype`` trained ``final_epochs`` from scratch (option 1 with the
        tuned training hyperparameters, option 2 with the default ones).
    spent : float
        Compute charged, in training epochs (search epochs x ``search_epoch_cost`` + training
        epochs); at most ``budget``.
    search_epochs, train_epochs : int
        What was run, before the final training.
    trials : list of dict
        ``config, budget, loss, cost`` (option 2 also ``genotype``) of every evaluation.
    seconds : float
        Wall clock, final training included.
    default_test_metric : float or None
        Option 1 only: test error of ``genotype`` trained ``final_epochs`` with the default
        training hyperparameters (lr 0.05, weight decay 3e-4, batch 64), i.e. the search alone
        without HPO (a reference, not charged).
    """

    option: str
    optimizer: str
    genotype: Genotype
    best_config: dict[str, Any]
    best_budget: float
    best_val: float
    test_metric: float | None
    spent: float
    search_epochs: int
    train_epochs: int
    trials: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    default_test_metric: float | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready fields (no trials)."""
        return {"option": self.option, "optimizer": self.optimizer, "test_metric": self.test_metric,
                "best_val": self.best_val, "best_budget": self.best_budget,
                "best_config": self.best_config, "spent": self.spent,
                "search_epochs": self.search_epochs, "train_epochs": self.train_epochs,
                "n_evaluations": len(self.trials), "genotype": self.genotype.to_dict(),
                "skip_fraction": self.genotype.skip_fraction(),
                "parameterless_fraction": self.genotype.parameterless_fraction(),
                "seconds": self.seconds, "default_test_metric": self.default_test_metric}


def seed_ints(seed: SeedLike) -> dict[str, int]:
    """The integer seeds :func:`compare_nas_hpo` derives from ``seed`` and shares between both
    options: ``model`` (supernet initialization), ``search`` (batch order), ``hpo`` (the
    optimizers) and ``train`` (network initialization and batch order of every training)."""
    gens = as_generator(seed).spawn(4)
    return {k: int(g.integers(2**31)) for k, g in zip(("model", "search", "hpo", "train"), gens)}


def _check_positive_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: got {value!r}; allowed is an int >= {low}")
    return int(value)


def _check_number(name: str, value: Any, low: float, strict: bool = True) -> float:
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
          and (value > low if strict else value >= low))
    if not ok:
        raise ValueError(f"{name}: got {value!r}; allowed is a finite number "
                         f"{'>' if strict else '>='} {low}")
    return float(value)


def _make_optimizer(name: str, space, min_budget: float, max_budget: float, eta: float, seed):
    import lowfi.optimizers as lo

    return lo.get(name, space, min_budget=min_budget, max_budget=max_budget, eta=eta, seed=seed)


def _budgeted_loop(opt, evaluate: Callable[[dict, int], tuple[float, float, dict]],
                   cost_of: Callable[[int], float], remaining: float) -> tuple[list[dict], float]:
    """Ask, evaluate, tell until the next trial would cost more than ``remaining``."""
    trials: list[dict[str, Any]] = []
    spent = 0.0
    while True:
        trial = opt.ask()
        if trial is None:
            break
        b = max(1, int(round(trial.budget)))
        cost = cost_of(b)
        if spent + cost > remaining + 1e-9:
            break
        loss, _, extra = evaluate(dict(trial.config), b)
        spent += cost
        trials.append({"config": dict(trial.config), "budget": float(b), "loss": float(loss),
                       "cost": float(cost), **extra})
        opt.tell(trial, Result(loss=float(loss), cost=float(cost)))
    return trials, spent


def _select(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Lowest validation error among the evaluations at the largest budget evaluated."""
    top = max(t["budget"] for t in trials)
    return min((t for t in trials if t["budget"] == top), key=lambda t: t["loss"])


def compare_nas_hpo(task: str = "classification", data: dict[str, tuple] | None = None,
                    budget: float = 300.0, search_epoch_cost: float = 8.0,
                    base_search: SearchConfig | None = None,
                    supernet_kwargs: dict[str, Any] | None = None,
                    min_search_epochs: int = 2, max_search_epochs: int = 6, search_eta: float = 3,
                    score_epochs: int | None = None, min_train_epochs: int = 1, final_epochs: int = 9,
                    train_eta: float = 3, optimizer: str = "bohb", space=None,
                    options: tuple[str, ...] = OPTIONS, seed: SeedLike = 0,
                    final_test: bool = True, verbose: bool = False) -> dict[str, OptionResult]:
    """Run NAS-then-HPO (option 1) and HPO-around-NAS (option 2) at the same compute.

    Parameters
    ----------
    task : {"classification", "dense"}
    data : dict, optional
        ``train, val, test, search_train, search_val`` as from
        :func:`~lowfi.nas.darts.tasks.digits_task` (the default, split seed 0).
    budget : float
        Compute per option in training epochs (see the module docstring).
    search_epoch_cost : float
        Charge of one DARTS search epoch, in training epochs.
    base_search : SearchConfig, optional
        DARTS settings of option 1's search and the base of option 2's (default: first order,
        batch 64, arch_lr 0.01, no eigenvalues); option 1 searches ``max_search_epochs``.
    supernet_kwargs : dict, optional
        ``C``, ``n_nodes``, ``layers`` (or ``n_levels``) of the supernet and the discrete network
        (default ``C=4, n_nodes=2``).
    min_search_epochs, max_search_epochs, search_eta :
        Option 2's budget (search epochs) for the multi-fidelity optimizer.
    score_epochs : int, optional
        Option 2: epochs a found genotype is trained (default hyperparameters: lr 0.05, weight
        decay 3e-4, batch 64) before its validation error is taken (default: ``final_epochs``,
        so the score is the validation error of the final training recipe).
    min_train_epochs, final_epochs, train_eta :
        Option 1's budget (training epochs); ``final_epochs`` is also the final training of
        both options.
    optimizer : str
        A multi-fidelity optimizer of ``lowfi.optimizers`` used by both options ("bohb",
        "hyperband", "auto" (lowfi's default), ...).
    space : ConfigurationSpace, optional
        Option 2's space (default :func:`darts_hpo_space`).
    options : tuple
        Which options to run.
    seed : int or Generator
        Both options share the supernet initialization, the search's batch order and the
        training seed; the optimizers get the same seed.

    Returns
    -------
    dict
        ``{"nas_then_hpo": OptionResult, "hpo_around_nas": OptionResult}`` (those in ``options``).
    """
    import lowfi.optimizers as lo

    if task not in ("classification", "dense"):
        raise ValueError(f"task: got {task!r}; allowed are 'classification' and 'dense'")
    budget = _check_number("budget", budget, 0.0)
    search_epoch_cost = _check_number("search_epoch_cost", search_epoch_cost, 0.0)
    min_search_epochs = _check_positive_int("min_search_epochs", min_search_epochs)
    max_search_epochs = _check_positive_int("max_search_epochs", max_search_epochs)
    if max_search_epochs < min_search_epochs:
        raise ValueError(f"max_search_epochs: got {max_search_epochs}; allowed is >= "
                         f"min_search_epochs={min_search_epochs}")
    min_train_epochs = _check_positive_int("min_train_epochs", min_train_epochs)
    final_epochs = _check_positive_int("final_epochs", final_epochs)
    score_epochs = final_epochs if score_epochs is None else _check_positive_int("score_epochs",
                                                                                   score_epochs)
    if final_epochs < min_train_epochs:
        raise ValueError(f"final_epochs: got {final_epochs}; allowed is >= "
                         f"min_train_epochs={min_train_epochs}")
    for name, eta in (("search_eta", search_eta), ("train_eta", train_eta)):
        if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not eta > 1:
            raise ValueError(f"{name}: got {eta!r}; allowed is a number > 1")
    fit = [o for o in lo.available() if not getattr(lo._load(o), "searches_networks", False)]
    if not isinstance(optimizer, str) or optimizer not in fit:
        raise ValueError(f"optimizer: got {optimizer!r}; allowed are the optimizers of "
                         f"configuration spaces in lowfi.optimizers.available(): {fit}")
    if isinstance(options, str) or not options or any(o not in OPTIONS for o in options):
        raise ValueError(f"options: got {options!r}; allowed is a non-empty tuple of {OPTIONS}")
    cheapest = {"nas_then_hpo": max_search_epochs * search_epoch_cost + min_train_epochs,
                "hpo_around_nas": min_search_epochs * search_epoch_cost + score_epochs}
    need = max(cheapest[o] for o in options)
    if budget < need:
        raise ValueError(f"budget: got {budget!r}; allowed is >= {need:g} training epochs (option "
                         "1: one search of max_search_epochs plus one training at "
                         "min_train_epochs; option 2: one search of min_search_epochs plus "
                         "score_epochs)")
    space = darts_hpo_space() if space is None else space

    rng = as_generator(seed)
    data = digits_task(task, seed=0) if data is None else data
    missing = {"train", "val", "test", "search_train", "search_val"} - set(data)
    if missing:
        raise ValueError(f"data: missing splits {sorted(missing)}; allowed is a dict as returned "
                         "by digits_task")
    sk = {"C": 4, "n_nodes": 2, **(supernet_kwargs or {})}
    base = base_search or SearchConfig(arch_lr=0.01, eigenvalue_every=0)
    ints = seed_ints(rng)
    model_int, search_int, hpo_int, train_int = (ints[k] for k in ("model", "search", "hpo",
                                                                   "train"))
    cls = SearchNetwork if task == "classification" else SearchEncoderDecoder
    net_kwargs = cls(seed=model_int, **sk).network_kwargs()

    def search(cfg: SearchConfig) -> Genotype:
        model = cls(seed=model_int, **sk)
        return darts_search(model, data["search_train"], data["search_val"], cfg,
                            seed=search_int).genotype

    def train(genotype: Genotype, epochs: int, sets: dict, **hp: Any) -> dict[str, Any]:
        net = build_seeded(genotype, task, train_int, **net_kwargs)
        return train_network(net, data["train"], int(epochs), seed=train_int, eval_sets=sets, **hp)

    out: dict[str, OptionResult] = {}
    if "nas_then_hpo" in options:
        t0 = time.perf_counter()
        cfg = SearchConfig(**{**asdict(base), "epochs": max_search_epochs}).validate()
        genotype = search(cfg)
        search_cost = max_search_epochs * search_epoch_cost
        if verbose:
            print(f"[nas_then_hpo] genotype {genotype.to_json()}", flush=True)

        def evaluate_training(config: dict, epochs: int):
            res = train(genotype, epochs, {"val": data["val"]}, lr=float(config["lr"]),
                        weight_decay=float(config["weight_decay"]),
                        batch_size=int(config["batch_size"]))
            if verbose:
                print(f"[nas_then_hpo] {epochs:2d} epochs {config} val {res['val_metric']:.4f}",
                      flush=True)
            return res["val_metric"], float(epochs), {}

        opt = _make_optimizer(optimizer, hpo_space(), min_train_epochs, final_epochs, train_eta,
                              hpo_int)
        trials, spent = _budgeted_loop(opt, evaluate_training, float, budget - search_cost)
        if not trials:  # the search used the budget: train with the default hyperparameters
            best = {"config": {"lr": 0.05, "weight_decay": 3e-4, "batch_size": 64},
                    "budget": 0.0, "loss": math.nan}
        else:
            best = _select(trials)
        test = default_test = None
        if final_test:
            c = best["config"]
            test = train(genotype, final_epochs, {"test": data["test"]}, lr=float(c["lr"]),
                         weight_decay=float(c["weight_decay"]),
                         batch_size=int(c["batch_size"]))["test_metric"]
            default_test = train(genotype, final_epochs, {"test": data["test"]})["test_metric"]
        out["nas_then_hpo"] = OptionResult(
            "nas_then_hpo", optimizer, genotype, dict(best["config"]), best["budget"],
            best["loss"], test, search_cost + spent, max_search_epochs,
            int(sum(t["budget"] for t in trials)), trials, time.perf_counter() - t0,
            default_test)

    if "hpo_around_nas" in options:
        t0 = time.perf_counter()

        def evaluate_search(config: dict, epochs: int):
            cfg = search_config_for(config, base, epochs)
            genotype = search(cfg)
            res = train(genotype, score_epochs, {"val": data["val"]})
            if verbose:
                print(f"[hpo_around_nas] {epochs:2d} search epochs {config} val "
                      f"{res['val_metric']:.4f}", flush=True)
            return res["val_metric"], 0.0, {"genotype": genotype.to_dict()}

        opt = _make_optimizer(optimizer, space, min_search_epochs, max_search_epochs, search_eta,
                              hpo_int)
        trials, spent = _budgeted_loop(
            opt, evaluate_search, lambda b: b * search_epoch_cost + score_epochs, budget)
        if not trials:
            raise ValueError(f"budget: got {budget!r}; the first trial of {optimizer!r} "
                             "(option 2) costs more; allowed is a larger budget")
        best = _select(trials)
        genotype = Genotype.from_dict(best["genotype"])
        test = None
        if final_test:
            test = train(genotype, final_epochs, {"test": data["test"]})["test_metric"]
        out["hpo_around_nas"] = OptionResult(
            "hpo_around_nas", optimizer, genotype, dict(best["config"]), best["budget"],
            best["loss"], test, spent, int(sum(t["budget"] for t in trials)),
            score_epochs * len(trials), trials, time.perf_counter() - t0)
    return out


def hpo_around_nas(**kwargs: Any) -> OptionResult:
    """Option 2 alone: :func:`compare_nas_hpo` with ``options=("hpo_around_nas",)``."""
    if "options" in kwargs:
        raise ValueError("options: hpo_around_nas runs option 2 only; use compare_nas_hpo")
    return compare_nas_hpo(options=("hpo_around_nas",), **kwargs)["hpo_around_nas"]


__all__ = ["DARTS_HPO_RANGES", "OPTIONS", "OptionResult", "compare_nas_hpo", "darts_hpo_space",
           "hpo_around_nas", "search_config_for", "seed_ints"]
