"""Peak memory of the hot-issue clustering of one window, in a fresh process as a Celery pool
process runs the hourly job (scenario 7's code path, without storing the result), and the
clusters it found, written to a JSON file so that two versions of the code can be compared.

The peak is the child's VmHWM. Its ``ru_maxrss`` is printed beside it but is not the child's
own: Linux keeps the high-water mark of the memory a process had before ``exec`` (here the
parent's, shared through fork/vfork), so a child of a large process reports the parent's peak.
Scenario 7's 10,399 MiB was the benchmark runner's, which seeds 10 million orders itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hotline_bench \\
    CACHE_URL=redis://127.0.0.1:6379/10 \\
    python -m benchmarks.hot_issues_memory 2026-11-29 2026-12-05 --out /tmp/after.json \\
        [--compare /tmp/before.json]
"""

import argparse
import json
import os
import subprocess
import sys

from . import env

CHILD = """
import json, os, resource, sys, time
from datetime import date
import django
django.setup()
from evaluation import hot_issues

from benchmarks.server import memory_of


def vm(field):
    return round(memory_of(os.getpid())[field])


start, end, out = date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2]), sys.argv[3]
before = vm("peak_rss_mib")
wall, cpu = time.perf_counter(), time.process_time()
clusters = hot_issues.find_hot_issues(start, end, as_of=hot_issues._day_bounds(start, end)[1])
found = time.perf_counter() - wall
with open(out, "w") as f:
    json.dump([{"order_ids": c.order_ids, "heat": c.heat, "title": c.title, "place": c.place}
               for c in clusters], f)
print(json.dumps({"find_seconds": round(found, 1),
                  "cpu_seconds": round(time.process_time() - cpu, 1),
                  "clusters": len(clusters),
                  "hwm_before_find_mib": before,
                  "peak_rss_mib": vm("peak_rss_mib"),
                  "rss_after_mib": vm("rss_mib"),
                  "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("--out", required=True, help="the clusters found, as JSON")
    parser.add_argument("--compare", help="clusters of an earlier run: are they the same?")
    args = parser.parse_args()
    child_env = env.server_env({key: os.environ[key] for key in ("DATABASE_URL", "CACHE_URL")
                                if key in os.environ})
    out = subprocess.run([sys.executable, "-c", CHILD, args.start, args.end, args.out],
                         cwd=env.ROOT, env=child_env, capture_output=True, text=True,
                         check=False)
    if out.returncode:
        sys.exit(out.stderr)
    print(out.stdout.strip().splitlines()[-1])
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        with open(args.out) as f:
            after = json.load(f)
        print(f"identical to {args.compare}: {'yes' if before == after else 'no'}")


if __name__ == "__main__":
    main()
