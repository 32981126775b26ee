"""The ``lowfi bench`` harness: optimizers x benchmarks x seeds on a simulated clock.

Every run charges each evaluation its budget and stops submitting once ``budget x max_budget``
has been charged (the pending evaluations still finish). Evaluations run on ``n_workers``
asynchronous workers in *simulated* time: each one lasts its result's ``cost`` (measured
seconds for real tasks, recorded training time for tables and surrogates), and the optimizer
sees results in the order they would finish. Runs go through ``lowfi.minimize(...,
executor="simulated")`` when the run loop is installed, otherwise through the event loop
below, which writes the same records.

Output folder layout::

    DIR/meta.json                              benchmarks' optimum, f_rand, budgets; settings
    DIR/runs/<benchmark>__<optimizer>__<seed>.jsonl   one JSON object per evaluation

Each record holds: optimizer, benchmark, seed, trial_id, config_id, config, budget, loss,
status, error, test_loss (noise-free loss at max budget where the benchmark has one),
regret (incumbent's regret after this evaluation), cost, cum_budget, start, end, wallclock,
worker, overhead (seconds spent in ``ask`` + ``tell`` for this trial), bracket, rung.
"""

from __future__ import annotations

import heapq
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from lowfi.core.seeding import as_generator

__all__ = ["bench", "get_benchmark", "known_benchmark", "load_bench", "run_one"]

def get_benchmark(name: str, **kwargs: Any):
    """``lowfi.benchmarks.get(name)`` (kept as the bench module's entry point)."""
    from lowfi import benchmarks

    return benchmarks.get(name, **kwargs)


def known_benchmark(name: str) -> bool:
    """Whether ``name`` is registered (whether or not its data or extra is present here)."""
    from lowfi.benchmarks.base import PREFIXES, REGISTRY

    return name in REGISTRY or any(name.startswith(p) and len(name) > len(p) for p in PREFIXES)


def benchmark_meta(b: Any) -> dict[str, Any]:
    return {
        "min_budget": float(b.min_budget), "max_budget": float(b.max_budget),
        "eta": float(getattr(b, "eta", 3.0) or 3.0),
        "optimum": None if b.optimum is None else float(b.optimum),
        "f_rand": None if getattr(b, "f_rand", None) is None else float(b.f_rand),
        "tabular": bool(getattr(b, "tabular", False)),
    }


class _Timed:
    """Wraps an optimizer's ``ask``/``tell`` to time them (the optimizer overhead)."""

    def __init__(self, opt: Any):
        self.opt = opt
        self.overhead: dict[int, float] = {}
        self._last_ask = 0.0
        ask, tell = opt.ask, opt.tell

        def timed_ask():
            t = time.perf_counter()
            trial = ask()
            dt = time.perf_counter() - t
            if trial is not None:
                self.overhead[trial.id] = self.overhead.get(trial.id, 0.0) + dt + self._last_ask
                self._last_ask = 0.0
            else:  # a refused ask is charged to the next trial
                self._last_ask += dt
            return trial

        def timed_tell(trial, result):
            t = time.perf_counter()
            out = tell(trial, result)
            self.overhead[trial.id] = self.overhead.get(trial.id, 0.0) + time.perf_counter() - t
            return out

        opt.ask, opt.tell = timed_ask, timed_tell


def _make_optimizer(name: str, b: Any, seed: int) -> Any:
    from lowfi import optimizers

    return optimizers.get(name, b.space, min_budget=float(b.min_budget),
                          max_budget=float(b.max_budget), eta=float(getattr(b, "eta", 3) or 3),
                          seed=seed)


def _loss_scalar(loss: Any) -> float | None:
    if loss is None:
        return None
    if isinstance(loss, list | tuple):
        return float(loss[0])
    return float(loss)


def _simulate(opt: Any, b: Any, total: float, n_workers: int, eval_rng: np.random.Generator
              ) -> list[dict[str, Any]]:
    """Asynchronous workers in simulated time (the fallback when lowfi.minimize is absent)."""
    from lowfi.core.trial import Result

    now, charged, seq = 0.0, 0.0, 0
    free = list(range(n_workers))[::-1]
    running: list[tuple[float, int, Any, Any, int, float]] = []
    rows: list[dict[str, Any]] = []
    while True:
        while free and charged < total - 1e-9:
            trial = opt.ask()
            if trial is None:
                break
            charged += float(trial.budget)
            try:
                result = Result.coerce(b.evaluate(trial.config, trial.budget,
                                                  seed=int(eval_rng.integers(2**31 - 1))))
            except Exception as exc:  # a crash is a value
                result = Result.failed(f"{type(exc).__name__}: {exc}")
            cost = float(trial.budget) if result.cost is None else float(result.cost)
            worker = free.pop()
            heapq.heappush(running, (now + cost, seq, trial, result, worker, now))
            seq += 1
        if not running:
            break
        now = running[0][0]
        while running and running[0][0] <= now:  # simultaneous finishes are told together
            end, _, trial, result, worker, start = heapq.heappop(running)
            opt.tell(trial, result)
            free.append(worker)
            rows.append({"trial_id": trial.id, "config_id": trial.config_id,
                         "config": dict(trial.config), "budget": float(trial.budget),
                         "loss": _loss_scalar(result.loss), "status": result.status,
                         "error": result.error, "cost": result.cost, "start": start,
                         "end": end, "worker": worker, "bracket": trial.info.get("bracket"),
                         "rung": trial.info.get("rung")})
    return rows


def _has_minimize() -> bool:
    try:
        importlib.import_module("lowfi.run.loop")
    except ImportError:
        return False
    import lowfi

    try:
        return callable(lowfi.minimize)
    except AttributeError:
        return False


def _via_minimize(opt: Any, b: Any, total: float, n_workers: int, seed: int,
                  eval_rng: np.random.Generator) -> list[dict[str, Any]]:
    import lowfi
    from lowfi.core.trial import Result

    def objective(trial):
        result = Result.coerce(b.evaluate(trial.config, trial.budget,
                                          seed=int(eval_rng.integers(2**31 - 1))))
        if result.cost is None:
            result.cost = float(trial.budget)
        return result

    res = lowfi.minimize(objective, b.space, optimizer=opt, min_budget=float(b.min_budget),
                         max_budget=float(b.max_budget), eta=float(getattr(b, "eta", 3) or 3),
                         n_workers=n_workers, executor="simulated", total_budget=total,
                         seed=seed, progress=False)
    df = res.trials
    cfg_cols = [c for c in df.columns if c.startswith("config.")]
    rows = []
    for rec in df.to_dict("records"):
        config = {c[len("config."):]: rec[c] for c in cfg_cols
                  if not (isinstance(rec[c], float) and math.isnan(rec[c]))}
        rows.append({"trial_id": int(rec["trial_id"]), "config_id": rec.get("config_id"),
                     "config": config, "budget": float(rec["budget"]),
                     "loss": _loss_scalar(rec.get("loss")), "status": rec.get("status", "ok"),
                     "error": rec.get("error"), "cost": rec.get("cost"),
                     "start": rec.get("start"), "end": rec.get("end"),
                     "worker": rec.get("worker"), "bracket": rec.get("bracket"),
                     "rung": rec.get("rung")})
    return rows


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _clean(v.item())
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def _fill_test_losses(b: Any, rows: list[dict[str, Any]], max_budget: float) -> None:
    """Set ``test_loss`` on every row whose config was ever the incumbent (regret needs only
    those), and on all rows when the benchmark's ``test_loss`` is cheap (< 2 ms a call)."""
    import pandas as pd

    from lowfi.analysis.trajectory import incumbent_trajectory

    for r in rows:
        r["test_loss"] = None
    if not rows:
        return
    inc = incumbent_trajectory(pd.DataFrame(rows), max_budget)["inc_index"].to_numpy()
    first = sorted({int(i) for i in inc if i >= 0})
    t0, n = time.perf_counter(), 0

    def fill(i: int) -> None:
        r = rows[i]
        if r["status"] == "failed" or r["test_loss"] is not None:
            return
        tl = b.test_loss(r["config"])
        r["test_loss"] = None if tl is None else float(tl)

    for i in first:
        fill(i)
        n += 1
    cheap = n == 0 or (time.perf_counter() - t0) / n < 2e-3
    if cheap:
        for i in range(len(rows)):
            fill(i)


def run_one(optimizer: str, benchmark: str, seed: int, budget: float = 50, n_workers: int = 1,
            engine: str = "auto") -> list[dict[str, Any]]:
    """One optimizer on one benchmark with one seed; returns the evaluation records.

    Parameters
    ----------
    optimizer, benchmark
        Registered names.
    seed
        Seeds the optimizer and the benchmark's evaluation noise.
    budget
        Total budget in multiples of the benchmark's ``max_budget``.
    n_workers
        Simulated asynchronous workers.
    engine
        ``"minimize"`` (lowfi.minimize with the simulated executor), ``"own"`` (this module's
        event loop) or ``"auto"`` (minimize when installed).
    """
    if engine not in ("auto", "minimize", "own"):
        raise ValueError(f"engine: got {engine!r}; allowed are 'auto', 'minimize', 'own'")
    if not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers: got {n_workers!r}; allowed is an int >= 1")
    if not isinstance(budget, int | float) or not budget > 0:
        raise ValueError(f"budget: got {budget!r}; allowed is a number > 0")
    b = get_benchmark(benchmark)
    meta = benchmark_meta(b)
    opt = _make_optimizer(optimizer, b, seed)
    timer = _Timed(opt)
    eval_rng = as_generator(np.random.SeedSequence([int(seed), 7919]))
    total = float(budget) * meta["max_budget"]
    use_min = engine == "minimize" or (engine == "auto" and _has_minimize())
    if use_min:
        rows = _via_minimize(opt, b, total, n_workers, seed, eval_rng)
    else:
        rows = _simulate(opt, b, total, n_workers, eval_rng)
    rows.sort(key=lambda r: (r["end"] if r["end"] is not None else math.inf, r["trial_id"]))
    import pandas as pd

    from lowfi.analysis.trajectory import incumbent_trajectory

    _fill_test_losses(b, rows, meta["max_budget"])
    traj = incumbent_trajectory(pd.DataFrame(rows), meta["max_budget"], meta["optimum"],
                                meta["f_rand"]) if rows else None
    out = []
    for i, r in enumerate(rows):
        rec = {"optimizer": optimizer, "benchmark": benchmark, "seed": int(seed),
               "engine": "minimize" if use_min else "own", **r,
               "regret": float(traj["regret"].iloc[i]),
               "cum_budget": float(traj["cum_budget"].iloc[i]),
               "wallclock": float(traj["wallclock"].iloc[i]),
               "overhead": timer.overhead.get(r["trial_id"], 0.0)}
        out.append(_clean(rec))
    return out


def _run_file(out: Path, benchmark: str, optimizer: str, seed: int) -> Path:
    return out / "runs" / f"{benchmark}__{optimizer}__{seed}.jsonl"


def _job(args: tuple) -> tuple[str, str, int, int, str | None]:
    optimizer, benchmark, seed, budget, workers, out, engine = args
    path = _run_file(Path(out), benchmark, optimizer, seed)
    try:
        rows = run_one(optimizer, benchmark, seed, budget, workers, engine)
    except Exception as exc:  # report, keep the other runs going
        import traceback

        from lowfi.run.loop import TrialsFailedError

        text = "".join(traceback.format_exception(exc))
        if isinstance(exc, TrialsFailedError) and exc.result is not None:
            errors = [e for e in exc.result.trials.get("error", []) if isinstance(e, str)]
            if errors:  # the summary line names what the trials raised
                text += f"\nall trials failed; the first: {errors[0].strip().splitlines()[-1]}"
        return optimizer, benchmark, seed, 0, text
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    os.replace(tmp, path)
    return optimizer, benchmark, seed, len(rows), None


def bench(optimizers: Sequence[str], benchmarks: Sequence[str], seeds: int | Sequence[int] = 10,
          budget: float = 50, workers: int = 1, out: str | os.PathLike = "bench-out",
          jobs: int = 1, engine: str = "auto", resume: bool = True, verbose: bool = True
          ) -> Path:
    """Run optimizers x benchmarks x seeds and write JSON lines under ``out``.

    Parameters
    ----------
    optimizers, benchmarks
        Registered names (``lowfi.optimizers.available()``, ``lowfi.benchmarks.names()``).
        Benchmarks that cannot be built here (missing data or extra) are skipped with a note
        in ``meta.json`` (key ``skipped``).
    seeds
        Number of seeds (0..N-1) or an explicit list.
    budget
        Total budget per run in multiples of ``max_budget``.
    workers
        Simulated asynchronous workers per run.
    jobs
        Runs executed in parallel (processes).
    resume
        Keep run files that already exist (runs of earlier calls with other optimizers,
        benchmarks or seeds stay and are reported with the new ones; earlier runs made with
        another ``budget`` or ``workers`` are an error). ``False`` removes the folder's
        earlier runs first.

    Returns
    -------
    pathlib.Path
        The output folder (pass it to :func:`lowfi.analysis.report.report`).
    """
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError(f"seeds: got {seeds!r}; allowed is an int >= 1 or a non-empty list")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: got {jobs!r}; allowed is an int >= 1")
    if isinstance(budget, bool) or not isinstance(budget, int | float) \
            or not 0 < budget < float("inf"):
        raise ValueError(f"budget: got {budget!r}; allowed is a number > 0 (multiples of "
                         "max_budget per run)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: got {workers!r}; allowed is an int >= 1")
    if not list(optimizers):
        raise ValueError("optimizers: got none; name at least one")
    if not list(benchmarks):
        raise ValueError("benchmarks: got none; name at least one")
    outp = Path(out)
    meta_path = outp / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    kept = resume and any((outp / "runs").glob("*.jsonl"))
    if kept and (float(meta.get("budget", budget)) != float(budget)
                 or int(meta.get("workers", workers)) != int(workers)):
        raise ValueError(f"out: {str(outp)!r} holds runs made with budget "
                         f"{meta.get('budget')} and {meta.get('workers')} workers; a report "
                         f"cannot mix them with budget {budget} and {workers} workers: use "
                         "--fresh (resume=False) to replace them, or another --out")
    (outp / "runs").mkdir(parents=True, exist_ok=True)
    meta.setdefault("benchmarks", {})
    meta.setdefault("skipped", {})
    if not resume:  # the folder's earlier runs are replaced
        for f in (outp / "runs").glob("*.jsonl"):
            f.unlink()
        meta.update({"benchmarks": {}, "skipped": {}, "failures": []})
    earlier_opts = meta.get("optimizers", []) if resume else []
    earlier_seeds = meta.get("seeds", []) if resume else []
    meta.update({"budget": budget, "workers": workers,  # a report shows every kept run
                 "seeds": sorted({*earlier_seeds, *seed_list}),
                 "optimizers": list(dict.fromkeys([*earlier_opts, *optimizers])),
                 "command": " ".join(sys.argv),
                 "created": time.strftime("%Y-%m-%d %H:%M:%S")})
    from lowfi import optimizers as opt_mod

    for name in optimizers:
        if opt_mod.ALIASES.get(name, name) not in opt_mod.REGISTRY:
            raise ValueError(f"optimizers: got {name!r}; known are {', '.join(opt_mod.REGISTRY)}")
        try:
            cls = opt_mod._load(opt_mod.ALIASES.get(name, name))
        except ValueError:  # not importable here: its runs say so
            cls = None
        if getattr(cls, "searches_networks", False):
            raise ValueError(f"optimizers: got {name!r}, which evolves network descriptions "
                             "(lowfi.nas.Network), not points of a benchmark's configuration "
                             "space; use it with lowfi.minimize on a network objective")
    from lowfi.benchmarks.base import PREFIXES, names

    unknown = [b for b in benchmarks if not known_benchmark(b)]
    if unknown:
        raise ValueError(f"benchmarks: got unknown {unknown}; known are {', '.join(names())} "
                         f"and names starting with {', '.join(PREFIXES)}")
    good = []
    for name in benchmarks:
        try:
            meta["benchmarks"][name] = benchmark_meta(get_benchmark(name))
            good.append(name)
        except (ValueError, FileNotFoundError, ImportError) as exc:
            meta["skipped"][name] = str(exc)
            if verbose:
                print(f"skipping benchmark {name}: {exc}", file=sys.stderr)
    meta["benchmark_names"] = list(dict.fromkeys(
        [*(meta.get("benchmark_names", []) if resume else []), *good]))
    meta_path.write_text(json.dumps(meta, indent=1))
    tasks = [(o, bname, s, budget, workers, str(outp), engine)
             for bname in good for o in optimizers for s in seed_list
             if not (resume and _run_file(outp, bname, o, s).exists())]
    failures = []

    def done(res):
        o, bname, s, n, err = res
        if err:
            failures.append(f"{bname} {o} seed {s}: {err.strip().splitlines()[-1]}")
        if verbose:
            print(f"{bname:>22} {o:>10} seed {s:>3}: "
                  + (f"{n} evaluations" if not err else "FAILED " + err.strip().splitlines()[-1]),
                  file=sys.stderr)

    if jobs == 1:
        for t in tasks:
            done(_job(t))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for fut in as_completed([pool.submit(_job, t) for t in tasks]):
                done(fut.result())
    meta["failures"] = failures  # of this call
    meta["runs_asked"] = len(tasks)
    meta_path.write_text(json.dumps(meta, indent=1))
    return outp


def load_bench(folder: str | os.PathLike):
    """Read a bench folder: ``(meta dict, DataFrame of all evaluation records)``."""
    import pandas as pd

    p = Path(folder)
    meta_path = p / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"folder: {str(p)!r} has no meta.json; is it a lowfi bench folder?")
    meta = json.loads(meta_path.read_text())
    frames = []
    for f in sorted((p / "runs").glob("*.jsonl")):
        with open(f) as fh:
            recs = [json.loads(line) for line in fh if line.strip()]
        if recs:
            frames.append(pd.DataFrame(recs))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return meta, df
