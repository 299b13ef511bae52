"""How many CPU instructions one page or API call costs the web process, counted by valgrind's
callgrind: ``python -m benchmarks.instructions PATH --user NAME [--token] [--times N]``.
``request_timing`` is run under callgrind twice, with one request and with ``1 + N``; the
difference over N is the instructions of a request, start-up and the first request (which
fills the caches) left out. Unlike milliseconds, the count does not change with what else the
machine is doing, so two commits compare on a busy or slow machine (run it from a worktree of
each, on the same database); the database server's own work is not counted. valgrind makes the
process about fifty times slower: N of 20 to 40 is enough (the counts repeat to a few parts in
a thousand)."""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import env, request_timing


def _count(args, times: int, out: Path) -> int:
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               sys.executable, "-m", "benchmarks.request_timing", args.path,
               "--user", args.user, "--times", str(times), *(["--token"] if args.token else [])]
    done = subprocess.run(command, cwd=env.ROOT, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"request_timing under valgrind failed ({done.returncode}):\n"
                         f"{done.stdout[-1000:]}{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    request_timing.add_request_arguments(parser, times_help="requests counted (default 30)")
    args = parser.parse_args(argv)
    if args.times < 1:
        parser.error("--times must be at least 1")
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as work:
        one = _count(args, 1, Path(work) / "one.out")
        many = _count(args, 1 + args.times, Path(work) / "many.out")
    print(f"{args.path} as {args.user}: {(many - one) / args.times / 1e6:.2f} million "
          f"instructions a request (over {args.times}, callgrind)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
