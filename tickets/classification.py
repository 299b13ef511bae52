"""Category suggestion from the request text (DESIGN §2): TF-IDF over character 1–2-grams and a
linear SVM, the proven baseline for short Chinese texts (no segmentation needed, so it is fast
and robust to new place names). Trained from the platform's own confirmed orders; versioned in
the database so every web process and worker loads the same model."""

import io
import pickle
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Max
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, classification_report, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from .models import ClassifierModel, Order, TrainingLabel

RELOAD_SECONDS = 60.0
MAX_TEXT = 2000  # characters of a text the model looks at


def _prepare(text: str) -> str:
    return (text or "")[:MAX_TEXT]


def build_pipeline() -> Pipeline:
    return Pipeline([
        ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True,
                                  min_df=2, max_features=300_000, dtype=np.float32)),
        ("svm", LinearSVC(C=1.0)),
    ])


@dataclass
class TrainingResult:
    model: ClassifierModel
    labels: list[str]


def training_data() -> tuple[list[str], list[str]]:
    """Texts and top-level categories of confirmed orders: an agent's label (TrainingLabel)
    wins over the order's category."""
    corrected = {}
    for order_id, path in TrainingLabel.objects.order_by("created_at").values_list(
            "order_id", "category__path"):
        corrected[order_id] = path.split("/", 1)[0]
    texts, labels = [], []
    rows = Order.objects.filter(category__isnull=False).values_list(
        "pk", "subject", "text", "category__path").iterator(chunk_size=5000)
    for pk, subject, text, path in rows:
        texts.append(_prepare(f"{subject}\n{text}"))
        labels.append(corrected.get(pk, path.split("/", 1)[0]))
    return texts, labels


def train(*, folds: int = 5, min_per_class: int = 2) -> TrainingResult:
    texts, labels = training_data()
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    keep = [i for i, label in enumerate(labels) if counts[label] >= max(min_per_class, 2)]
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"need confirmed orders of at least two categories, have {len(classes)}")
    folds = max(2, min(folds, min(counts[c] for c in classes)))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    predicted = cross_val_predict(build_pipeline(), texts, labels, cv=cv)
    report = classification_report(labels, predicted, output_dict=True, zero_division=0)
    pipeline = build_pipeline().fit(texts, labels)
    buffer = io.BytesIO()
    pickle.dump(pipeline, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    with transaction.atomic():
        version = (ClassifierModel.objects.select_for_update().aggregate(v=Max("version"))["v"]
                   or 0) + 1
        model = ClassifierModel.objects.create(
            version=version, samples=len(texts), accuracy=accuracy_score(labels, predicted),
            macro_f1=f1_score(labels, predicted, average="macro"), report=report,
            blob=buffer.getvalue(), is_active=True)
    _cache.clear()
    return TrainingResult(model=model, labels=classes)


class _Cache:
    """The active model of this process, re-checked every RELOAD_SECONDS."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self.version, self.pipeline, self.checked = None, None, float("-inf")

    def get(self):
        if time.monotonic() - self.checked < RELOAD_SECONDS:
            return self.version, self.pipeline
        with self.lock:
            if time.monotonic() - self.checked >= RELOAD_SECONDS:
                latest = (ClassifierModel.objects.filter(is_active=True).order_by("-version")
                          .values_list("version", flat=True).first())
                if latest is not None and latest != self.version:
                    blob = ClassifierModel.objects.values_list("blob", flat=True).get(
                        version=latest)
                    self.pipeline = pickle.loads(bytes(blob))  # written by train() only
                    self.version = latest
                elif latest is None:
                    self.version = self.pipeline = None
                self.checked = time.monotonic()
        return self.version, self.pipeline


_cache = _Cache()


@dataclass(frozen=True)
class Suggestion:
    category: str
    candidates: list[tuple[str, float]]
    version: int


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores * 3.0)  # SVM margins are small; sharpen before normalising
    return exp / exp.sum(axis=1, keepdims=True)


def suggest_many(texts: list[str], *, top: int = 3) -> list[Suggestion] | None:
    """Top categories for each text with a relative confidence, or None with no model yet."""
    version, pipeline = _cache.get()
    if pipeline is None:
        return None
    scores = pipeline.decision_function([_prepare(t) for t in texts])
    classes = pipeline.classes_
    if scores.ndim == 1:  # two classes: one margin
        scores = np.column_stack([-scores, scores])
    probs = _softmax(scores)
    out = []
    for row in probs:
        order = np.argsort(row)[::-1][:top]
        candidates = [(str(classes[i]), round(float(row[i]), 4)) for i in order]
        out.append(Suggestion(category=candidates[0][0], candidates=candidates, version=version))
    return out


def suggest(text: str, *, top: int = 3) -> Suggestion | None:
    result = suggest_many([text], top=top)
    return result[0] if result else None
