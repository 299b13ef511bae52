"""Groups of similar Chinese texts, for hot issues (热点问题, DESIGN §6).

The measure is the one hot issues have always used: TF-IDF over character 2–3-grams (sublinear
tf, smoothed idf, n-grams in fewer than two texts dropped, rows L2-normalised; the same numbers as
scikit-learn's ``TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True,
min_df=2)``), cosine distance, and average-linkage clustering cut at a distance threshold.
What changed is how it scales:

- the n-grams are counted with numpy over the whole block at once (one sort of
  (n-gram, text) keys) instead of a Python loop per text;
- identical texts are vectorised and compared once, weighted by how often they occur;
- average linkage is exact without the dense n × n matrix. Two clusters merge below the
  threshold t only if their *average* distance is ≤ t, so at least one pair across them is within
  t: every cluster of the cut lies inside one connected component of the graph "distance ≤ t".
  That graph is sparse (a text has a handful of near neighbours), it is built by a sparse product
  in row chunks, and only its components of at least ``min_size`` texts are clustered, each with
  a dense matrix of its own size.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

PAIR_CELLS = 1_000_000  # cells of one chunk of the similarity product (~12 MB)
LINKAGE_BATCH = 1_500  # texts clustered by one dense linkage (several small components at once)
LINKAGE_MAX = 2_000  # a component above this is split on stricter similarity first (see _split)


def vectorize(texts: list[str], counts: np.ndarray | None = None, *,
              min_df: int = 2) -> sparse.csr_matrix:
    """TF-IDF rows (float32, L2-normalised) of char 2–3-grams of ``texts``. ``counts[i]`` says
    how many times text i stands in the collection (document frequencies and idf count it so
    often), so unique texts with their counts give the rows of the whole collection."""
    n = len(texts)
    total = n if counts is None else int(counts.sum())
    if n == 0:
        return sparse.csr_matrix((0, 0), dtype=np.float32)
    chars = np.frombuffer("\x00".join(texts).lower().encode("utf-32-le"), dtype=np.uint32)
    # A dense alphabet (the block's distinct characters) keeps a trigram's code within 64 bits
    # beside the text's number. NUL separates texts and is code 0. Temporaries are dropped as
    # soon as they are used: a block of 6,000 texts makes arrays of millions of n-grams.
    code = np.cumsum(np.bincount(chars) > 0) - 1
    alphabet = int(code[-1]) + 1
    doc_bits = max(1, int(n).bit_length())
    if (alphabet ** 3 + alphabet ** 2).bit_length() + doc_bits > 63:
        raise ValueError("too many distinct characters in one block")
    a = code[chars]
    sep = chars == 0
    del chars, code
    doc = np.cumsum(sep, dtype=np.int64)
    ok2 = ~(sep[:-1] | sep[1:])
    ok3 = ok2[:-1] & ~sep[2:]
    del sep
    bigram = a[:-1] * alphabet
    bigram += a[1:]
    trigram = bigram[:-1] * alphabet
    trigram += a[2:]
    trigram += alphabet * alphabet  # above every bigram
    del a
    parts = []
    for grams, ok, docs in ((bigram, ok2, doc[:-1]), (trigram, ok3, doc[:-2])):
        part = grams[ok]
        part <<= doc_bits
        part |= docs[ok]
        parts.append(part)
    del bigram, trigram, ok2, ok3, doc, grams, docs, part
    key = np.concatenate(parts)
    del parts
    key.sort()
    # Runs of one key: one n-gram in one text (tf); runs of one n-gram: its texts (df).
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    tf = np.diff(first, append=len(key)).astype(np.float32)
    key = key[first]
    del first
    rows = (key & ((1 << doc_bits) - 1)).astype(np.int32)
    key >>= doc_bits  # the n-gram
    gfirst = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    del key
    per_gram = np.diff(gfirst, append=len(rows))
    df = per_gram if counts is None else np.add.reduceat(counts[rows], gfirst)
    del gfirst
    keep = df >= min_df
    entry = np.repeat(keep, per_gram)
    rows, tf, per_gram = rows[entry], tf[entry], per_gram[keep]
    del entry
    idf = (np.log((1 + total) / (1 + df[keep])) + 1).astype(np.float32)
    weight = np.log(tf)
    del tf
    weight += 1
    weight *= np.repeat(idf, per_gram)
    norm = np.sqrt(np.bincount(rows, weights=weight * weight, minlength=n)).astype(np.float32)
    norm[norm == 0] = 1
    weight /= norm[rows]
    indptr = np.zeros(len(per_gram) + 1, dtype=np.int64)
    np.cumsum(per_gram, out=indptr[1:])
    return sparse.csc_matrix((weight, rows, indptr), shape=(n, len(per_gram))).tocsr()


def similar_pairs(matrix: sparse.csr_matrix, min_similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of rows whose cosine similarity is at least ``min_similarity``. Rows are
    taken in chunks, each against itself and the rows after it only (the product is symmetric),
    so about half of the matrix product is computed."""
    n = matrix.shape[0]
    step = max(16, min(PAIR_CELLS // max(n, 1), -(-n // 4)))
    left, right = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for lo in range(0, n, step):
        product = (matrix[lo:lo + step] @ matrix[lo:].T).tocoo()
        hit = (product.data >= min_similarity) & (product.col > product.row)
        left.append(product.row[hit].astype(np.int64) + lo)
        right.append(product.col[hit].astype(np.int64) + lo)
    return np.concatenate(left), np.concatenate(right)


@dataclass
class Group:
    members: np.ndarray  # positions in the texts given to ``group``
    central: int  # the member nearest the group's centroid (a readable representative)


def group(texts: list[str], *, threshold: float, min_size: int) -> list[Group]:
    """Average-linkage clusters of ``texts`` at cosine distance ``threshold``, those of at least
    ``min_size`` texts."""
    if len(texts) < min_size:
        return []
    index: dict[str, int] = {}
    of = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64,
                     count=len(texts))
    counts = np.bincount(of)
    try:
        matrix = vectorize(list(index), counts)
    except ValueError:  # an alphabet too large to pack: no sensible hot issue in it anyway
        return []
    if matrix.shape[1] == 0:
        return []
    component, weight = _connected(matrix, np.arange(matrix.shape[0]), counts, 1.0 - threshold)
    copies = np.split(np.argsort(of, kind="stable"), np.cumsum(counts)[:-1])
    found: list[Group] = []
    batch: list[np.ndarray] = []
    batch_size = 0
    for members in _components(component, weight >= min_size):
        parts = _split(matrix, members, counts, threshold, min_size) \
            if len(members) > LINKAGE_MAX else [members]
        for part in parts:
            size = int(min(counts[part].sum(), LINKAGE_MAX))
            if batch and batch_size + size > LINKAGE_BATCH:
                found += _link(batch, matrix, counts, copies, threshold, min_size)
                batch, batch_size = [], 0
            batch.append(part)
            batch_size += size
    if batch:
        found += _link(batch, matrix, counts, copies, threshold, min_size)
    return found


def _connected(matrix, nodes, counts, min_similarity):
    """Connected components of the graph "similarity ≥ min_similarity" over ``nodes`` (rows of
    ``matrix``), and each component's weight (texts counted with their copies)."""
    left, right = similar_pairs(matrix[nodes], min_similarity)
    graph = sparse.coo_matrix((np.ones(len(left), np.int8), (left, right)),
                              shape=(len(nodes), len(nodes)))
    _n, component = connected_components(graph, directed=False)
    return component, np.bincount(component, weights=counts[nodes])


def _components(component: np.ndarray, wanted: np.ndarray) -> list[np.ndarray]:
    nodes = np.flatnonzero(wanted[component])
    nodes = nodes[np.argsort(component[nodes], kind="stable")]
    return np.split(nodes, np.flatnonzero(np.diff(component[nodes])) + 1) if len(nodes) else []


def _split(matrix, members, counts, threshold, min_size):
    """A component of more distinct texts than a dense linkage should hold (thousands chained
    by near neighbours): cut it along its weakest links, raising the similarity its graph
    requires until the pieces are small enough. An approximation, for a case the data rarely
    makes; a piece still too large at 0.95 is cut by arrival."""
    pending = [(members, 1.0 - threshold)]
    while pending:
        nodes, floor = pending.pop()
        if len(nodes) <= LINKAGE_MAX or floor >= 0.95:
            for lo in range(0, len(nodes), LINKAGE_MAX):
                if counts[nodes[lo:lo + LINKAGE_MAX]].sum() >= min_size:
                    yield nodes[lo:lo + LINKAGE_MAX]
            continue
        floor = min(0.95, floor + 0.1)
        component, weight = _connected(matrix, nodes, counts, floor)
        pending += [(nodes[part], floor) for part in _components(component, weight >= min_size)]


def _link(batch, matrix, counts, copies, threshold, min_size) -> list[Group]:
    """Average linkage over several components at once: a pair across two of them is farther
    apart than the threshold, so no cluster of the cut spans two."""
    unique = np.concatenate(batch)
    repeat = counts[unique]
    if repeat.sum() > LINKAGE_MAX:  # many copies: each text counts at most this often
        repeat = np.minimum(repeat, max(1, LINKAGE_MAX // len(unique)))
    rows = np.repeat(unique, repeat)  # a text stands once per copy, as in the window
    if len(rows) == 1:
        labels = np.ones(1, dtype=np.int64)
        similarity = np.ones((1, 1), dtype=np.float32)
    else:
        vectors = matrix[rows]
        similarity = (vectors @ vectors.T).toarray()
        distance = 1.0 - similarity
        np.clip(distance, 0.0, 2.0, out=distance)
        np.fill_diagonal(distance, 0.0)
        condensed = squareform(distance, checks=False).astype(np.float64)
        del distance
        labels = fcluster(linkage(condensed, method="average"), t=threshold,
                          criterion="distance")
    # Each row is one copy of a text; copies left out by the cap go with the text's first row.
    positions = np.concatenate([copies[t][:r] for t, r in zip(unique, repeat)])
    first_row = np.concatenate(([0], np.cumsum(repeat)[:-1]))
    out = []
    for label in np.unique(labels):
        at = np.flatnonzero(labels == label)
        members = [positions[at]]
        for k in np.flatnonzero(labels[first_row] == label):
            members.append(copies[unique[k]][repeat[k]:])
        members = np.sort(np.concatenate(members))
        if len(members) < min_size:
            continue
        # Nearest the centroid: the largest sum of similarities to the other members.
        central = positions[at[int(np.argmax(similarity[np.ix_(at, at)].sum(axis=1)))]]
        out.append(Group(members=members, central=int(central)))
    return out
