"""The ``lowfi bench``, ``lowfi report`` and ``lowfi dashboard`` commands (registered by
``lowfi.cli``)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import Any


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def cmd_bench(args: argparse.Namespace) -> int:
    """Run optimizers x benchmarks x seeds, then write the report into ``OUT/report``."""
    from lowfi import optimizers
    from lowfi.analysis.bench import bench
    from lowfi.analysis.report import report

    opts = ([o for o in optimizers.available()  # those of configuration spaces
             if not getattr(optimizers._load(o), "searches_networks", False)]
            if args.optimizers == "all" else _names(args.optimizers))
    if args.benchmarks == "all":
        from lowfi import benchmarks

        bms = benchmarks.names()
    else:
        bms = _names(args.benchmarks)
    out = bench(opts, bms, seeds=args.seeds, budget=args.budget, workers=args.workers,
                out=args.out, jobs=args.jobs, resume=not args.fresh)
    meta = json.loads((out / "meta.json").read_text())
    if not args.no_report:
        md = report(out)
        print(f"report: {md} and {md.with_suffix('.html')}")
    if not meta.get("benchmark_names"):
        print("lowfi bench: no benchmark could be built here (see the messages above); "
              "nothing ran", file=sys.stderr)
        return 2
    failed = meta.get("failures") or []
    status = 0
    if failed:  # scripts notice; the report shows the runs that finished
        print(f"lowfi bench: {len(failed)} of {meta.get('runs_asked', len(failed))} runs "
              f"failed (listed in {out / 'meta.json'})", file=sys.stderr)
        status = 1
    skipped = [b for b in meta.get("skipped") or {} if b in bms]
    if skipped:  # a requested problem missing from a results table must not go unnoticed
        print(f"lowfi bench: skipped {len(skipped)} of {len(bms)} benchmarks that could not "
              f"be built here ({', '.join(skipped)}; why: above and in {out / 'meta.json'})",
              file=sys.stderr)
        status = 1
    return status


def cmd_report(args: argparse.Namespace) -> int:
    """Write plots and a markdown/HTML page for a stored run or a bench folder."""
    from lowfi.analysis.report import report

    md = report(args.path, out=args.out)
    print(f"report: {md} and {md.with_suffix('.html')}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the live dashboard for the given journals or folders until interrupted."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

        from lowfi.dashboard import create_app, serve_app
    except ImportError as exc:
        print(f"lowfi dashboard needs the 'dashboard' extra ({exc}); "
              "pip install 'lowfi[dashboard]'", file=sys.stderr)
        return 2
    app = create_app(args.paths, host=args.host, port=args.port)  # checks the arguments
    for p in args.paths:
        if not os.path.exists(p):
            print(f"lowfi dashboard: {p!r} does not exist yet; the page shows it once a run "
                  "writes it", file=sys.stderr)
    from lowfi.dashboard import url_of

    port = args.port
    try:  # a port in use: say so before printing an address that would not answer
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind((args.host, args.port))
            port = probe.getsockname()[1]  # --port 0: the free port chosen for it
    except OSError as exc:
        print(f"lowfi dashboard: cannot listen on {args.host}:{args.port} "
              f"({exc.strerror or exc}); choose another --host or --port", file=sys.stderr)
        return 2
    print(f"lowfi dashboard: {url_of(args.host, port)} (Ctrl-C to stop)", flush=True)
    serve_app(app, host=args.host, port=port)
    return 0


def add_subparsers(sub: Any) -> None:
    """Register ``bench`` and ``report`` on the main parser's subparsers."""
    b = sub.add_parser("bench", help="compare optimizers on benchmarks over seeds "
                                     "(simulated parallel wall clock)")
    b.add_argument("--optimizers", default="random,hyperband,bohb,tpe",
                   help="comma-separated names, or 'all' for every available optimizer of "
                        "configuration spaces")
    b.add_argument("--benchmarks", default="counting-ones-8-8",
                   help="comma-separated names, or 'all' for lowfi.benchmarks.names()")
    b.add_argument("--seeds", type=int, default=10, help="number of seeds (0..N-1)")
    b.add_argument("--budget", type=float, default=50,
                   help="total budget per run in multiples of max_budget (default 50)")
    b.add_argument("--workers", type=int, default=1, help="simulated asynchronous workers")
    b.add_argument("--jobs", type=int, default=1, help="runs executed in parallel (processes)")
    b.add_argument("--out", default="bench-out", help="output folder")
    b.add_argument("--fresh", action="store_true",
                   help="start the folder afresh: remove its earlier runs, then run")
    b.add_argument("--no-report", action="store_true")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("report", help="plots + markdown/HTML for RUN.db or a bench folder")
    r.add_argument("path", help="a stored run (RUN.db) or a `lowfi bench` output folder")
    r.add_argument("--out", default=None, help="output folder (default next to the input)")
    r.set_defaults(func=cmd_report)

    d = sub.add_parser("dashboard", help="a local web page that follows runs while they go "
                                         "(read-only)")
    d.add_argument("paths", nargs="+", metavar="RUN.db|DIR",
                   help="run journals, or folders searched for *.db journals")
    d.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    d.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this machine only)")
    d.set_defaults(func=cmd_dashboard)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - `python -m` convenience
    p = argparse.ArgumentParser(prog="lowfi")
    add_subparsers(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
