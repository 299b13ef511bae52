"""Classification speed (texts per second on one core, batch; latency of one text) and accuracy
of the model trained on the labelled messages. Run: ``python -m benchmarks.classification``
(uses the database in DATABASE_URL / var/; trains a model there if none exists)."""

import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import django  # noqa: E402

django.setup()

from tickets import classification  # noqa: E402
from tickets.models import ClassifierModel  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tipdm" / "messages_replies.csv"


def main() -> dict:
    if not ClassifierModel.objects.exists():
        print("no model: train one first (manage.py train_classifier)", file=sys.stderr)
        sys.exit(2)
    with open(DATA, encoding="utf-8") as fh:
        texts = [f"{r['subject']}\n{r['detail']}" for r in csv.DictReader(fh)]
    classification.suggest("预热")
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        classification.suggest_many(texts)
        runs.append(len(texts) / (time.perf_counter() - started))
    single = []
    for text in texts[:500]:
        started = time.perf_counter()
        classification.suggest(text)
        single.append((time.perf_counter() - started) * 1000)
    single.sort()
    model = ClassifierModel.objects.order_by("-version").first()
    result = {
        "texts": len(texts),
        "mean_chars": round(statistics.mean(len(t) for t in texts)),
        "batch_texts_per_s_median": round(statistics.median(runs)),
        "single_ms_median": round(statistics.median(single), 2),
        "single_ms_p95": round(single[int(len(single) * 0.95)], 2),
        "single_ms_p99": round(single[int(len(single) * 0.99)], 2),
        "model_version": model.version,
        "cv_accuracy": round(model.accuracy, 3),
        "cv_macro_f1": round(model.macro_f1, 3),
        "training_samples": model.samples,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main()
