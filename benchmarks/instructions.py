"""How many CPU instructions one page or API call costs the web process, counted by valgrind's
callgrind: ``python -m benchmarks.instructions PATH --user NAME [--token] [--times N]``, or
``--steps --user NAME [--times N]`` for a lifecycle step (sign, contact, complete: scenario 4).
``request_timing`` (``step_timing``) is run under callgrind twice, with one request (order) and
with ``1 + N``; the difference over N is the instructions of a request (over 3 N, of a step),
start-up and the first request (which fills the caches) left out. Unlike milliseconds, the count
does not change with what else the machine is doing, so two commits compare on a busy or slow
machine (run it from a worktree of each, on the same database); the database server's own work
is not counted. valgrind makes the process about fifty times slower: N of 20 to 40 is enough
(the counts repeat to a few parts in a thousand)."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import env, request_timing
from .steps import STEPS


def _count(args, times: int, out: Path) -> int:
    if args.steps:
        what = ["benchmarks.step_timing", "--user", args.user, "--times", str(times)]
    else:
        what = ["benchmarks.request_timing", args.path, "--user", args.user,
                "--times", str(times), *(["--token"] if args.token else [])]
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               sys.executable, "-m", *what]
    # One hash seed for every run: with random ones, dicts and sets of strings hash and collide
    # differently in each process, and the counts differed by up to 5% between two runs.
    done = subprocess.run(command, cwd=env.ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"request_timing under valgrind failed ({done.returncode}):\n"
                         f"{done.stdout[-1000:]}{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    request_timing.add_request_arguments(
        parser, times_help="requests (with --steps: orders) counted (default 30)",
        path_required=False)
    parser.add_argument("--steps", action="store_true",
                        help="count a lifecycle step on the user's dispatched orders, not PATH")
    args = parser.parse_args(argv)
    if args.times < 1:
        parser.error("--times must be at least 1")
    if (args.path is None) != args.steps:
        parser.error("give either PATH or --steps")
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as work:
        one = _count(args, 1, Path(work) / "one.out")
        many = _count(args, 1 + args.times, Path(work) / "many.out")
    if args.steps:
        steps = args.times * len(STEPS)
        print(f"sign → contact → complete as {args.user}: {(many - one) / steps / 1e6:.2f} "
              f"million instructions a step (over {steps}, callgrind)")
    else:
        print(f"{args.path} as {args.user}: {(many - one) / args.times / 1e6:.2f} million "
              f"instructions a request (over {args.times}, callgrind)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
