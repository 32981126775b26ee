"""The ``lowfi`` command: ``demo``, ``show``, ``resume`` (+ ``bench``, ``report``, ``nas``)."""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def _console():
    from rich.console import Console

    # piped output is not cut at 80 columns (run names and configurations stay whole)
    return Console() if sys.stdout.isatty() else Console(width=200)


def _esc(v: Any) -> str:
    """Text from a run (paths, configurations, errors) printed as it is, never as rich markup."""
    from rich.markup import escape

    return escape(str(v))


def _table(df: pd.DataFrame, title: str, n: int = 10):
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(title))
    for c in df.columns:
        t.add_column(Text(str(c)))
    for _, row in df.head(n).iterrows():
        t.add_row(*[Text(_fmt(v)) for v in row.values])
    return t


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _best_table(trials: pd.DataFrame, n: int = 10, direction: str = "minimize") -> pd.DataFrame:
    """Best finished trials at the highest budget (stopped trials did not reach their budget:
    they never count); ``score`` instead of ``loss`` for a run that maximized."""
    import pandas as pd

    ok = trials[trials["status"] == "ok"].copy()
    if not len(ok):
        return ok
    top = ok["budget"].max()
    ok = ok[ok["budget"] == top]
    multi = _objectives(ok["loss"])
    if multi is None:
        # ties in the order they finished, so the first row is the run's incumbent
        ok = ok.sort_values(["loss", "end"] if "end" in ok else "loss", kind="stable").head(n)
    else:  # several objectives: the Pareto-optimal trials, by their first objective
        F, same = multi
        keep = np.ones(len(ok), dtype=bool)
        if same:
            from lowfi.analysis.pareto import pareto_mask

            keep = pareto_mask(F)
        order = np.argsort(F[:, 0] if same else [f[0] for f in F], kind="stable")
        ok = ok.iloc[[i for i in order if keep[i]]].head(n)
    params = [c for c in ok.columns if c.startswith("config.")]
    config = [" ".join(f"{c[7:]}={_fmt(v)}" for c, v in zip(params, row) if not _missing(v))
              for row in ok[params].itertuples(index=False)]
    name, sign = ("score", -1.0) if direction == "maximize" else ("loss", 1.0)
    if multi is None:
        values: Any = sign * ok["loss"].to_numpy(float)
    else:
        name += "es" if name == "loss" else "s"
        values = ["(" + ", ".join(f"{sign * float(x):.4g}" for x in _seq(v)) + ")"
                  for v in ok["loss"]]
    return pd.DataFrame({"trial": ok["trial_id"].to_numpy(), "budget": ok["budget"].to_numpy(),
                         name: values, "seconds": ok["cost"].to_numpy(), "config": config})


def _seq(v: Any) -> tuple:
    return tuple(v) if isinstance(v, list | tuple | np.ndarray) else (v,)


def _objectives(losses: Any) -> tuple[np.ndarray, bool] | None:
    """None for a single-objective run; else the losses as rows (an array when every trial has
    the same number of objectives, ``same`` True) for multi-objective runs."""
    vals = list(losses)
    if not any(isinstance(v, list | tuple | np.ndarray) for v in vals):
        return None
    rows = [_seq(v) for v in vals]
    same = len({len(r) for r in rows}) == 1
    return (np.array(rows, dtype=float) if same else rows), same  # type: ignore[return-value]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def summarize(trials: pd.DataFrame, title: str = "run", direction: str = "minimize") -> None:
    con = _console()
    n = len(trials)
    status = trials["status"].value_counts().to_dict() if n else {}
    goal = " (maximized: scores)" if direction == "maximize" else ""
    asked = trials["budget"].sum() if n else 0
    trained = ""  # stopped trials reach less than they asked for (total_budget counts the asked)
    if n and "budget_reached" in trials and trials["budget_reached"].notna().any():
        from lowfi.analysis.rundata import budget_used  # as reports count it: a failed trial

        trained = f" (used {float(budget_used(trials).sum()):g})"  # in full, a resumed one less
    con.print(f"[bold]{_esc(title)}[/]: {n} trials, status {_esc(status)}, budget asked "
              f"{asked:g}{trained}{goal}")
    if n:
        ok = trials[trials["status"] == "ok"]
        sign, best = (-1.0, "best score") if direction == "maximize" else (1.0, "best loss")
        by_budget = trials.groupby("budget").agg(trials=("trial_id", "count"))
        single = _objectives(ok["loss"]) is None
        if single:
            by_budget[best] = sign * ok.groupby("budget")["loss"].min()
        else:  # several objectives: no single best; the Pareto-optimal trials are listed below
            by_budget["finished"] = ok.groupby("budget")["trial_id"].count()
        con.print(_table(by_budget.reset_index(), "trials per budget (best of finished trials)",
                         20))
        top = _best_table(trials, direction=direction)
        if len(top):
            con.print(_table(top, "best trials at the highest budget" if single
                             else "Pareto-optimal trials at the highest budget"))
        stopped = trials[trials["status"] == "stopped"]
        if len(stopped):
            reached = (stopped["budget_reached"] if "budget_reached" in stopped
                       else stopped["budget"])
            con.print(f"{len(stopped)} trials stopped early (budget "
                      f"reached {reached.min():g}..{reached.max():g}; never counted as best)")
        failed = trials[trials["status"] == "failed"]
        if len(failed):
            error = failed.iloc[-1]["error"]
            last = str(error).strip().splitlines() if isinstance(error, str) else []
            con.print(f"[red]{len(failed)} failed trials[/]"
                      + (f"; last error: {_esc(last[-1])}" if last else " (no error message)"))


def cmd_demo(args: argparse.Namespace) -> int:
    import lowfi
    from lowfi.benchmarks.mlp_digits import demo_objective, mlp_space
    from lowfi.optimizers import DEFAULT, available

    optimizer = args.optimizer or (DEFAULT if DEFAULT in available() else "hyperband")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(args.dir, f"demo-{optimizer}-{stamp}.db")
    con = _console()
    con.print(f"[bold]lowfi demo[/]: {optimizer} tuning an MLP on scikit-learn's digits, epochs "
              f"{args.min_budget:g}..{args.max_budget:g} as the budget, {args.workers} "
              f"{args.executor} workers, journal {_esc(path)}")
    res = lowfi.minimize(demo_objective, mlp_space(), optimizer, min_budget=args.min_budget,
                         max_budget=args.max_budget, eta=3, n_workers=args.workers,
                         executor=args.executor, storage=path, max_evaluations=args.max_evaluations,
                         seed=args.seed, progress=True)
    summarize(res.trials, f"demo ({res.stop_reason})")
    con.print(f"[bold green]incumbent[/]: validation error {res.best_loss:.4f} with {_esc(res.best_config)}")
    con.print(_esc(f"inspect with `lowfi show {path}`, continue with `lowfi resume {path} --max-evaluations N`"))
    return 0


def run_state(events: list, counts: dict[str, int]) -> str:
    """How a stored run stands: ``stopped: <reason>``, ``interrupted or running``, or (no run
    loop ever drove it) ``ask/tell study`` with its pending trials."""
    sessions = [e for e in events if e.kind == "session"]
    last = sessions[-1].data if sessions else {}
    if not any(e.data.get("kind") in ("start", "resume", "stop") for e in sessions):
        pending = counts.get("running", 0)
        return f"ask/tell study, {pending} pending" if pending else "ask/tell study"
    return (f"stopped: {last.get('reason') or '-'}" if last.get("kind") == "stop"
            else "interrupted or running")


def run_overview(folder: str) -> pd.DataFrame:
    """One row per run journal (``*.db``) in ``folder``, newest first: optimizer, trials by
    status, direction and best loss (or score, for a run that maximized) at the highest
    budget, state (stop reason, or "interrupted" for a run
    that was killed) and last activity."""
    import sqlite3

    from lowfi.storage import Journal, trials_frame

    rows = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not name.endswith(".db") or not os.path.isfile(path):
            continue
        try:
            j = Journal(path, create=False)
            try:
                events = j.events()
                settings = j.get_meta("settings", {}) or {}
            finally:
                j.close()
        except (sqlite3.DatabaseError, ValueError, KeyError):
            continue  # not a lowfi journal
        frame = trials_frame(events)
        counts = frame["status"].value_counts().to_dict() if len(frame) else {}
        state = run_state(events, counts)
        best = _best_table(frame, 1, settings.get("direction", "minimize")) if len(frame) \
            else frame
        rows.append({
            "run": name, "optimizer": settings.get("optimizer", "?"), "trials": len(frame),
            "ok": counts.get("ok", 0), "failed": counts.get("failed", 0),
            "stopped": counts.get("stopped", 0),
            "unfinished": counts.get("running", 0) + counts.get("cancelled", 0),
            "direction": settings.get("direction", "minimize"),
            # a multi-objective run has no single best: the first Pareto-optimal trial's values
            "best": (best.iloc[0, 2] if isinstance(best.iloc[0, 2], str) else float(best.iloc[0, 2]))
            if len(best) else float("nan"),
            "state": state,
            "last activity": _dt.datetime.fromtimestamp(events[-1].t).strftime("%Y-%m-%d %H:%M")
            if events else "-",
        })
    import pandas as pd

    df = pd.DataFrame(rows)
    return df.sort_values("last activity", ascending=False) if len(df) else df


def cmd_show(args: argparse.Namespace) -> int:
    from lowfi.storage import Journal, trials_frame

    if os.path.isdir(args.run):
        df = run_overview(args.run)
        if not len(df):
            print(f"lowfi show: no run journals (*.db) in {args.run!r}", file=sys.stderr)
            return 2
        _console().print(_table(df, f"runs in {args.run}", n=len(df)))
        return 0
    if "://" not in args.run and not os.path.exists(args.run):  # a path, not a database URL
        print(f"lowfi show: no run journal at {args.run!r}", file=sys.stderr)
        return 2
    j = Journal(args.run, create=False)
    settings = j.get_meta("settings", {})
    events = j.events()
    j.close()
    frame = trials_frame(events)
    counts = frame["status"].value_counts().to_dict() if len(frame) else {}
    _console().print(f"settings: {_esc(settings)}")
    _console().print(f"state: {_esc(run_state(events, counts))}")
    summarize(frame, args.run, (settings or {}).get("direction", "minimize"))
    return 0


def load_callable(spec: str, argument: str) -> Any:
    """The function named by ``"package.module:function"`` or ``"path/to/file.py:function"``
    (this imports and runs that module, as ``python -m`` would)."""
    import importlib
    import importlib.util

    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{argument}: got {spec!r}; allowed are 'package.module:function' or "
                         "'path/to/file.py:function'")
    if module_name.endswith(".py"):
        if not os.path.isfile(module_name):
            raise ValueError(f"{argument}: got {spec!r}; no file {module_name!r}")
        # the module's own name, as `import` would give it, so the run knows the objective
        # by the same qualified name whether a script imported it or the CLI loads the file
        name = os.path.splitext(os.path.basename(module_name))[0]
        loader_spec = importlib.util.spec_from_file_location(name, module_name)
        if loader_spec is None or loader_spec.loader is None:
            raise ValueError(f"{argument}: got {spec!r}; {module_name!r} cannot be imported")
        module = importlib.util.module_from_spec(loader_spec)
        # not in sys.modules: executors then send its functions to workers by value
        sys.path.insert(0, os.path.dirname(os.path.abspath(module_name)))
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            raise ValueError(_import_failed(argument, module_name, exc)) from exc
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise
        except Exception as exc:
            raise ValueError(_import_failed(argument, module_name, exc)) from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"{argument}: got {spec!r}; {module_name!r} has no function {attr!r}")
    return fn


def _import_failed(argument: str, module: str, exc: BaseException) -> str:
    return (f"{argument}: importing {module!r} runs its top-level code, which failed with "
            f"{type(exc).__name__}: {exc}. Keep the run of a script under "
            "`if __name__ == \"__main__\":` so that importing it only defines the objective")


def cmd_resume(args: argparse.Namespace) -> int:
    import lowfi

    if "://" not in args.run and not os.path.exists(args.run):  # a path, not a database URL
        print(f"lowfi resume: no run journal at {args.run!r}", file=sys.stderr)
        return 2
    from lowfi.storage import load_trials

    kw: dict[str, Any] = {"progress": not args.quiet}
    for k in ("max_evaluations", "total_budget", "walltime"):
        if getattr(args, k) is not None:
            kw[k] = getattr(args, k)
    if args.workers is not None:
        kw["n_workers"] = args.workers
    if args.executor:
        kw["executor"] = args.executor
    if getattr(args, "trust", False):
        kw["trust"] = True
    objective = None
    if os.getcwd() not in sys.path:  # a stored `module:function` resolves as under `python -m`
        sys.path.insert(0, os.getcwd())
    if getattr(args, "objective", None):
        try:
            objective = load_callable(args.objective, "--objective")
        except (ValueError, ImportError, OSError) as exc:
            print(f"lowfi resume: {exc}", file=sys.stderr)
            return 2
    before = len(load_trials(args.run))
    try:
        with warnings.catch_warnings():  # said below, with the option to pass
            warnings.filterwarnings("ignore", message="resume: nothing new ran")
            res = lowfi.resume(args.run, objective, **kw)
    except ValueError as exc:
        if objective is None and str(exc).startswith("objective:"):
            print(f"lowfi resume: {exc} with --objective module:function or "
                  "--objective path/to/file.py:function", file=sys.stderr)
            return 2
        raise
    summarize(res.trials, f"{args.run} ({res.stop_reason})", res.direction)
    if len(res.trials) == before and res.stop_reason in ("max_evaluations", "total_budget"):
        print(f"lowfi resume: nothing new ran: the run's {res.stop_reason} is already reached; "
              f"pass a larger --{res.stop_reason.replace('_', '-')}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from lowfi import __version__

    p = argparse.ArgumentParser(prog="lowfi", description="Efficient HPO and NAS.")
    p.add_argument("--version", action="version", version=f"lowfi {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="the main job: multi-fidelity search for an MLP on digits")
    d.add_argument("--optimizer", default=None, help="default: lowfi's default optimizer (lowfi.optimizers.DEFAULT)")
    d.add_argument("--workers", type=int, default=2)
    d.add_argument("--executor", default="processes", help="inline, processes, dask (default processes)")
    d.add_argument("--min-budget", type=float, default=1)
    d.add_argument("--max-budget", type=float, default=27)
    d.add_argument("--max-evaluations", type=int, default=69,
                   help="default 69: one full Hyperband iteration for budgets 1..27, eta 3")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--dir", default="lowfi-runs")
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("show", help="summarize a stored run, or list the runs in a folder")
    s.add_argument("run", help="a run journal (RUN.db) or a folder of them")
    s.set_defaults(func=cmd_show)

    r = sub.add_parser("resume", help="continue a stored run")
    r.add_argument("run")
    r.add_argument("--max-evaluations", type=int, default=None,
                   help="total evaluations including those already done")
    r.add_argument("--total-budget", type=float, default=None,
                   help="total budget including what was already spent")
    r.add_argument("--walltime", type=float, default=None, help="seconds for this call")
    r.add_argument("--workers", type=int, default=None)
    r.add_argument("--executor", default=None)
    r.add_argument("--objective", default=None, metavar="MODULE:FUNCTION",
                   help="the objective, for runs that did not store it (a Study's): "
                        "package.module:function or path/to/file.py:function (the file is "
                        "imported: its top-level code runs)")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--trust", action="store_true",
                   help="load the journal's pickled optimizer, objective and stopping rule even "
                        "if another user's key signed them (only for files of known origin)")
    r.set_defaults(func=cmd_resume)

    for module in ("lowfi.analysis.cli", "lowfi.nas.cli"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(mod, "add_subparsers"):
            parser = mod.add_subparsers(sub)
            if parser is not None and hasattr(mod, "run"):
                parser.set_defaults(func=mod.run)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the ``lowfi`` command. Bad input (a ValueError naming the argument, a missing
    file, a missing optional dependency) ends with that one-line message and exit status 2;
    Ctrl-C with a one-line message and status 130; ``LOWFI_DEBUG=1`` shows the
    traceback instead."""
    return run_command(build_parser().parse_args(argv))


def run_command(args: argparse.Namespace) -> int:
    """Run parsed arguments with the user-error handling of :func:`main`."""
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if os.environ.get("LOWFI_DEBUG"):
            raise
        name = args.command + (f" {args.nas_command}" if getattr(args, "nas_command", None)
                               else "")
        hint = (" (finished trials are in the journal; `lowfi resume RUN` continues the run)"
                if args.command in ("demo", "resume", "bench", "nas") else "")
        print(f"lowfi {name}: interrupted{hint}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, ImportError) as exc:  # bad input, a missing extra
        if os.environ.get("LOWFI_DEBUG"):
            raise
        name = args.command + (f" {args.nas_command}" if getattr(args, "nas_command", None)
                               else "")
        print(f"lowfi {name}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
