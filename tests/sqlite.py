"""``make run`` keeps its data in SQLite while the suite runs on PostgreSQL: a module that must
work on both runs itself again there, in a child pytest with a database of its own."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_on_sqlite(tmp_path, *paths, deselect: str = "sqlite_too") -> subprocess.CompletedProcess:
    """pytest on ``paths`` against a new SQLite database in ``tmp_path``, without the tests
    whose names match ``deselect`` (a ``-k`` expression: at least the test that called this)."""
    env = {k: v for k, v in os.environ.items() if k != "HOTLINE_REQUIRE_DB_VENDOR"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'hotline.sqlite3'}",
               HOTLINE_VAR_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, paths),
         "-k", f"not ({deselect})"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
