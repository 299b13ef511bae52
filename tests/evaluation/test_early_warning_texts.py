"""The text clustering behind hot issues (evaluation/similar_texts.py): the same numbers and
the same clusters as the dense TF-IDF + average-linkage method it replaces, and plausible
clusters over the real messages of ../shared/data."""

import csv
import random
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from evaluation import similar_texts

MESSAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "tipdm" / "messages_replies.csv"
PLACES = ["望京西园三区", "花园小区", "幸福里", "和平里", "光明里", "朝阳新城", "育新花园", "翠微路"]
PROBLEMS = ["地下车库漏水严重", "楼道灯坏了好几天没人修", "垃圾桶满了没人清运", "小区电梯经常停运",
            "饭店油烟扰民", "工地夜间施工噪音太大", "自来水发黄有异味", "路口违章停车堵住消防通道"]
ENDINGS = ["", "，请尽快处理", "，已经一个月了", "，物业不管", "！！", "，希望有关部门重视", " Help"]


def _texts(seed: int, n: int) -> list[str]:
    """Place + problem + ending: near duplicates, texts sharing only a place or only a
    problem, and exact copies."""
    rng = random.Random(seed)
    texts = [f"{rng.choice(PLACES)}{rng.choice(PROBLEMS)}{rng.choice(ENDINGS)}" for _ in range(n)]
    return texts + rng.sample(texts, n // 5)


def _dense_average_linkage(texts, threshold, min_size):
    """The method of the first version (one dense n × n matrix), as the reference."""
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, min_df=2,
                             dtype=np.float32).fit_transform(texts)
    distance = 1.0 - (matrix @ matrix.T).toarray()
    np.clip(distance, 0.0, 2.0, out=distance)
    np.fill_diagonal(distance, 0.0)
    labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                     distance_threshold=threshold).fit_predict(distance)
    return {tuple(np.flatnonzero(labels == label)) for label in np.unique(labels)
            if (labels == label).sum() >= min_size}


def test_the_vectors_are_scikit_learns_tfidf():
    texts = _texts(1, 300)
    expected = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, min_df=2,
                               dtype=np.float32).fit_transform(texts)
    ours = similar_texts.vectorize(texts)
    assert ours.shape == expected.shape
    np.testing.assert_allclose((ours @ ours.T).toarray(), (expected @ expected.T).toarray(),
                               atol=1e-5)
    # Unique texts with their counts stand for the whole collection.
    unique, counts = np.unique(np.array(texts, dtype=object), return_counts=True)
    weighted = similar_texts.vectorize(list(unique), counts)
    rows = [list(unique).index(t) for t in texts]
    np.testing.assert_allclose((weighted[rows] @ weighted[rows].T).toarray(),
                               (expected @ expected.T).toarray(), atol=1e-5)


@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_the_clusters_are_those_of_dense_average_linkage(threshold):
    texts = _texts(2, 400)
    found = {tuple(group.members) for group in similar_texts.group(texts, threshold=threshold,
                                                                   min_size=3)}
    assert found == _dense_average_linkage(texts, threshold, 3)
    assert len(found) > 5


def test_a_component_too_large_for_one_linkage_is_split(monkeypatch):
    texts = _texts(3, 300)
    monkeypatch.setattr(similar_texts, "LINKAGE_MAX", 40)
    monkeypatch.setattr(similar_texts, "LINKAGE_BATCH", 30)
    split = mock.Mock(wraps=similar_texts._split)
    monkeypatch.setattr(similar_texts, "_split", split)
    groups = similar_texts.group(texts, threshold=0.8, min_size=3)
    assert split.called
    members = np.concatenate([g.members for g in groups])
    assert len(members) == len(set(members))  # no text in two clusters
    for g in groups:  # each one problem, as without the split
        assert len(g.members) >= 3
        assert len({q for i in g.members for q in PROBLEMS if q in texts[i]}) == 1


@pytest.mark.skipif(not MESSAGES.exists(), reason="../shared/data is not here")
def test_the_hot_issues_of_the_real_messages_are_plausible():
    with open(MESSAGES, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    texts = [f"{r['subject']} {r['subject']} {' '.join(r['detail'].split())[:300]}" for r in rows]
    groups = similar_texts.group(texts, threshold=0.8, min_size=3)
    subjects = [{rows[i]["subject"] for i in g.members} for g in groups]
    # A sample over nine years and many cities: few, small clusters (no chaining)...
    assert 25 <= len(groups) <= 50 and max(len(g.members) for g in groups) <= 6
    # ...and the repeated questions among them, each whole.
    for words in (["新生儿", "落地"], ["公积金", "贷款"], ["五一桥"], ["国城国际"], ["尘肺病"],
                  ["东方水岸明珠"], ["28路"]):
        matching = [s for s in subjects if all(all(w in x for w in words) for x in s)]
        assert matching, words
    central = {rows[g.central]["subject"] for g in groups}
    assert "咨询B市新生儿落地险问题" in central or "反映异地新生儿落地保险问题" in central
