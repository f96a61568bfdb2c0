"""The `split-explorer` command: one verb a job, `--help` on each.

Library code raises `SplitExplorerError`s; this is the only place that turns them (and bad
arguments) into one line `error: ...` on stderr and exit status 2.

Every start builds the parser of every verb, so a verb module imports only what its parser needs
at the top; torch, optuna, pandas, matplotlib and the library code behind the verb are imported in
its run function (tests/explorer/cli/test_startup.py enforces it, benchmarks/startup.py times it).
"""
from __future__ import annotations

import argparse
import atexit
import gc
import sys
from typing import Sequence

from splitbase import SplitExplorerError
from explorer.cli import calibrate, check, export, hw, measure, pareto, profile, report, search, sweep, tabulate, train


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line `error: ...` and exit 2 (no usage dump)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message}\n")


# At exit the interpreter's last garbage collections walk every object pandas, optuna and
# matplotlib made, only to free memory the process hands back anyway: 0.5 s of a 3.4 s `pareto`
# on 2 cores (benchmarks/startup.py). Frozen objects are left out of them (reference counting
# still frees the rest); Python does not promise __del__ at exit, and every file a verb writes
# is closed before it returns.
atexit.register(gc.freeze)

VERBS = (profile, hw, measure, sweep, calibrate, train, search, pareto, export, check, report, tabulate)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="split-explorer",
        description="Decide where to split a DNN between a device and an edge server: profile "
                    "split points, price them on hardware models, search, report, export.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser, required=True)
    for verb in VERBS:
        verb.add_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except SplitExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
