"""Scenario 8: classification speed, measured by benchmarks/classification.py on one core
(taskset) with a model trained on the labelled messages, in a throw-away SQLite database of
its own (the model does not depend on the orders seeded for the other scenarios)."""

import json
import shutil
import subprocess
import sys

from . import env


def run(*, log=print) -> dict:
    var = env.WORK_DIR / "classification"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    environment = {k: v for k, v in env.server_env().items()
                   if k not in ("DATABASE_URL", "HOTLINE_PRODUCTION")}
    environment["HOTLINE_VAR_DIR"] = str(var)
    environment["CELERY_BROKER_URL"] = "memory://"

    def manage(*args):
        subprocess.run([sys.executable, "manage.py", *args], cwd=env.ROOT, env=environment,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    manage("migrate", "--noinput")
    manage("import_orders", str(env.SHARED_DATA / "tipdm" / "messages_labelled.csv"))
    manage("train_classifier")
    taskset = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    proc = subprocess.run([*taskset, sys.executable, "-m", "benchmarks.classification"],
                          cwd=env.ROOT, env=environment, check=True, capture_output=True,
                          text=True)
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    result["pinned_to_one_core"] = bool(taskset)
    log(f"classification: {result['batch_texts_per_s_median']} texts/s, one text median "
        f"{result['single_ms_median']} ms, p99 {result['single_ms_p99']} ms")
    return result
