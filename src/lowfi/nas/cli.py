"""``lowfi nas ...`` subcommands: enumerate, query, search, build-mini, compare.

The main CLI calls :func:`add_subparsers` on its subparsers object; :func:`main` runs the
subcommands on their own (``python -m lowfi.nas.cli enumerate --max-vertices 7``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def add_subparsers(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``nas`` with its subcommands on an argparse ``subparsers`` object."""
    nas = subparsers.add_parser("nas", help="NAS-Bench-101 tools (enumerate, query, search, build-mini, compare)")
    sub = nas.add_subparsers(dest="nas_command", required=True)

    p = sub.add_parser("enumerate", help="count (and save) all unique NAS-Bench-101 cells")
    p.add_argument("--max-vertices", type=int, default=7, help="vertex limit incl. input/output (2..7)")
    p.add_argument("--max-edges", type=int, default=9)
    p.add_argument("--output", default=None, help="save the cells to this .npz file")
    p.set_defaults(nas_func=_cmd_enumerate)

    p = sub.add_parser("query", help="look a cell up in a NAS-Bench-101 table")
    p.add_argument("--matrix", required=True, help="JSON adjacency, e.g. '[[0,1,1],[0,0,1],[0,0,0]]'")
    p.add_argument("--ops", required=True, help="comma-separated ops, e.g. input,conv3x3-bn-relu,output")
    p.add_argument("--epochs", type=int, default=None, help="budget (default: the largest)")
    p.add_argument("--data", default="mini",
                   help="'mini' or 'mini5' (shipped 4- or 5-vertex table), a .tfrecord file or "
                        "a mini-build results file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--all", action="store_true", help="print every repeat at every budget")
    p.set_defaults(nas_func=_cmd_query)

    p = sub.add_parser("build-mini", help="train every cell of the reduced space on digits")
    p.add_argument("--resume", action="store_true", help="continue an existing results file")
    p.add_argument("--work-dir", default="build/nasbench101_mini")
    p.add_argument("--limit", type=int, default=None, help="stop after this many new runs")
    p.add_argument("--max-vertices", type=int, default=None)
    p.add_argument("--workers", type=int, default=1, help="training processes (default 1)")
    p.add_argument("--finalize", action="store_true",
                   help="compress the results into the packaged table after building")
    p.add_argument("--finalize-only", action="store_true", help="only compress, train nothing")
    p.add_argument("--out", default=None,
                   help="table file (.jsonl.gz) --finalize writes; read it with --data PATH")
    p.add_argument("--partial", action="store_true",
                   help="let --finalize write a table with runs missing")
    p.set_defaults(nas_func=_cmd_build_mini)

    p = sub.add_parser("search", help="search the cell space with an optimizer (on a table or "
                                      "by training cells on digits)")
    p.add_argument("--data", default="mini",
                   help="'mini', 'mini5', a .tfrecord or results file, or 'train' (real "
                        "training on digits)")
    p.add_argument("--optimizer", default="re", help="any lowfi optimizer name (default: re)")
    p.add_argument("--encoding", default="A", choices=["A", "B", "C"])
    p.add_argument("--max-evaluations", type=int, default=100)
    p.add_argument("--total-budget", type=float, default=None, help="epochs in total")
    p.add_argument("--max-vertices", type=int, default=5, help="vertex limit for --data train")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--storage", default=None, help="SQLite journal (resumable with --resume)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    p.set_defaults(nas_func=_cmd_search)

    p = sub.add_parser("compare", help="run optimizers on a NAS-Bench-101 table, plot test regret")
    p.add_argument("--data", default="mini",
                   help="'mini', 'mini5', a .tfrecord file or a mini-build results file")
    p.add_argument("--optimizers", default=None, help="comma-separated (default: all available)")
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--encoding", default="A", choices=["A", "B", "C"])
    p.add_argument("--budget", type=float, default=None,
                   help="simulated wall clock per run in seconds of training time")
    p.add_argument("--out", default="bench-out/nasbench101")
    p.add_argument("--jobs", type=int, default=1,
                   help="processes running seeds in parallel (same results)")
    p.set_defaults(nas_func=_cmd_compare)
    return nas


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``nas`` subcommand."""
    return int(args.nas_func(args) or 0)


def _cmd_enumerate(args: argparse.Namespace) -> int:
    import numpy as np

    from lowfi.nas.nasbench101.enumerate import enumerate_cells

    t0 = time.perf_counter()
    e = enumerate_cells(args.max_vertices, args.max_edges)
    dt = time.perf_counter() - t0
    print(f"{'vertices':>8}  {'unique cells':>12}  {'seconds':>8}")
    for n, c in e.counts.items():
        print(f"{n:>8}  {c:>12,}  {e.seconds[n]:>8.3f}")
    print(f"{'total':>8}  {len(e):>12,}  {dt:>8.3f}")
    if args.output:
        np.savez_compressed(args.output, matrices=e.matrices, labels=e.labels,
                            num_vertices=e.num_vertices)
        print(f"saved {len(e):,} cells to {args.output}")
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    from lowfi.nas.nasbench101.spec import ModelSpec
    from lowfi.nas.nasbench101.tabular import NASBench101Table

    try:
        matrix = json.loads(args.matrix)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--matrix: not JSON ({exc}); e.g. '[[0,1],[0,0]]'") from None
    spec = ModelSpec(matrix, args.ops.split(","))
    if not spec.is_valid:
        print(json.dumps({"valid": False, "reason": spec.invalid_reason}))
        return 1
    table = NASBench101Table.from_path(args.data, seed=args.seed)
    if args.all:
        fixed, computed = table.get_metrics_from_spec(spec)
        fixed["module_adjacency"] = fixed["module_adjacency"].tolist()
        print(json.dumps({"hash": spec.hash(), **fixed, "computed": computed}, indent=1))
        return 0
    r = table.query(spec, args.epochs)
    r["module_adjacency"] = r["module_adjacency"].tolist()
    print(json.dumps({"hash": spec.hash(), **r}))
    return 0


def _cmd_build_mini(args: argparse.Namespace) -> int:
    from lowfi.nas.nasbench101 import build_mini

    if not args.finalize_only:
        settings = {} if args.max_vertices is None else {"max_vertices": args.max_vertices}
        build_mini.build(args.work_dir, resume=args.resume, limit=args.limit,
                         log=lambda s: print(s, flush=True), workers=args.workers, **settings)
    if args.finalize or args.finalize_only:
        try:
            out = build_mini.finalize(args.work_dir, out=args.out, partial=args.partial)
        except ValueError as exc:
            raise SystemExit(f"lowfi nas build-mini: {exc}") from None
        print(f"wrote {out}")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from lowfi.nas.nasbench101.search import search

    try:
        out = search(args.data, args.optimizer, encoding=args.encoding,
                     max_evaluations=args.max_evaluations, total_budget=args.total_budget,
                     seed=args.seed, storage=args.storage, resume=args.resume,
                     n_workers=args.workers, max_vertices=args.max_vertices,
                     progress=sys.stderr.isatty())
    except ValueError as exc:
        raise SystemExit(f"lowfi nas search: {exc}") from None
    out.pop("result")
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{out['optimizer']} on {out['benchmark']}: {out['evaluations']} evaluations, "
          f"{out['epochs']:,.0f} epochs, {out['cost']:,.1f} s of training time "
          f"(stopped by {out['stop_reason']})")
    b = out["best"]
    if b is None:
        print("no finished evaluation")
        return 1
    if "ops" not in b:
        print(f"best: an invalid cell (error {b['validation_error']:.4f})")
        return 0
    print(f"best cell {b['hash']}: ops {', '.join(b['ops'])}")
    print(f"  matrix {json.dumps(b['matrix'], separators=(',', ':'))}")
    found = f"  validation error found {b['validation_error']:.4f}"
    if "test_regret" in b:
        found += (f"; table means: validation {b['mean_validation_error']:.4f}, test "
                  f"{b['mean_test_error']:.4f}, test regret {b['test_regret']:.4f}")
    elif "test_error" in b:
        found += (f"; test error {b['test_error']:.4f}, "
                  f"{b.get('trainable_parameters', 0):,} parameters")
    print(found)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from lowfi.nas.nasbench101.compare import compare

    names = args.optimizers.split(",") if args.optimizers else None
    compare(data=args.data, optimizers=names, seeds=args.seeds, encoding=args.encoding,
            budget=args.budget, out=args.out, log=lambda s: print(s, flush=True),
            jobs=args.jobs)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``lowfi nas`` subcommands standalone."""
    parser = argparse.ArgumentParser(prog="lowfi")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subparsers(sub)
    args = parser.parse_args(argv)
    from lowfi.cli import run_command

    args.func = run
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
