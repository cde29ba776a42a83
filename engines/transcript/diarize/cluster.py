"""Window embeddings → speaker labels: how many speakers, which window is whose, and smoothing.

* ``estimate_speakers``: tries k = 2 .. max; a partition is believable when every cluster holds ≥ ``min_share``
  of the windows and centroids are ≥ ``min_distance`` apart. One speaker unless the 2-cluster partition is
  believable with a silhouette ≥ ``min_silhouette``; then the believable partition with the best silhouette.
  Small tight clusters score well at high k on short files, hence the gate at k = 2; the share rule keeps a
  cough or a noisy window an outlier rather than a speaker; the centroid distance is what tells one voice from
  two for an embedding trained for it (``neural``), while ``lite`` relies on the silhouette alone.
* ``assign``: agglomerative clustering (average linkage, cosine distance; SciPy's, so one tree serves every k)
  into ``k`` clusters, then a few rounds of moving each window to its nearest centroid, which repairs the stray
  windows that average linkage leaves in small groups. The silhouette comes from scikit-learn.
* ``mode_filter``: the most frequent label among the ``width`` windows around each one (a median for labels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Above this many windows, agglomerative clustering runs on an even subsample (it needs n² memory).
MAX_AHC = 3000


def normalise(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (cosine geometry); NaNs become 0 and all-zero rows stay zero."""
    x = np.nan_to_num(np.asarray(embeddings, dtype=np.float64))
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _tree(x: np.ndarray) -> np.ndarray:
    """Average-linkage dendrogram on cosine distance (SciPy: one tree, cut at every k)."""
    from scipy.cluster.hierarchy import linkage

    safe = x.copy()
    safe[~safe.any(axis=1), 0] = 1.0  # an all-zero row has no cosine distance: give it a direction
    return linkage(safe, method="average", metric="cosine")


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return normalise(np.stack([x[labels == c].mean(0) if np.any(labels == c) else np.zeros(x.shape[1])
                               for c in range(k)]))


def assign(embeddings: np.ndarray, k: int, *, rounds: int = 10, max_ahc: int = MAX_AHC,
           tree: np.ndarray | None = None) -> np.ndarray:
    """A label 0..k-1 per window: the average-linkage tree (of an even subsample of ``max_ahc`` windows when
    there are more; ``tree`` when given) cut into ``k`` clusters, then nearest-centroid refinement."""
    from scipy.cluster.hierarchy import fcluster

    x = normalise(embeddings)
    n = len(x)
    k = max(1, min(k, n))
    if k == 1:
        return np.zeros(n, dtype=int)
    pick = np.linspace(0, n - 1, max_ahc).astype(int) if n > max_ahc else np.arange(n)
    cut = fcluster(tree if tree is not None else _tree(x[pick]), k, criterion="maxclust") - 1
    k = int(cut.max()) + 1  # ties can give fewer clusters than asked
    labels = cut if n <= max_ahc else np.argmax(x @ _centroids(x[pick], cut, k).T, axis=1)
    for _ in range(rounds):
        new = np.argmax(x @ _centroids(x, labels, k).T, axis=1)
        if np.array_equal(new, labels) or len(np.unique(new)) < k:  # never empty a cluster: stop there
            break
        labels = new
    return labels


@dataclass(frozen=True)
class Partition:
    """One candidate answer of ``estimate_speakers``: ``k`` clusters and how good they look."""

    k: int
    labels: np.ndarray
    silhouette: float
    min_distance: float  # smallest cosine distance between two cluster centroids
    min_share: float  # smallest cluster's share of the windows
    min_count: int


def partitions(embeddings: np.ndarray, max_k: int, *, sample: int = 2000) -> list[Partition]:
    """``assign`` for k = 2 .. ``max_k`` with each partition's scores (silhouette on at most ``sample``)."""
    from sklearn.metrics import silhouette_score

    x = normalise(embeddings)
    n = len(x)
    tree = _tree(x[np.linspace(0, n - 1, MAX_AHC).astype(int)] if n > MAX_AHC else x)
    out = []
    for k in range(2, min(max_k, n - 1) + 1):
        labels = assign(x, k, tree=tree)
        k = int(labels.max()) + 1
        if k < 2:
            continue
        counts = np.bincount(labels, minlength=k)
        c = _centroids(x, labels, k)
        dist = 1.0 - c @ c.T
        np.fill_diagonal(dist, np.inf)
        sil = silhouette_score(x, labels, metric="cosine", sample_size=min(sample, len(x)), random_state=0)
        out.append(Partition(k, labels, float(sil), float(dist.min()), float(counts.min() / len(x)),
                             int(counts.min())))
    return out


def estimate_speakers(embeddings: np.ndarray, *, min_k: int = 1, max_k: int = 8, min_distance: float = 0.2,
                      min_silhouette: float = 0.3, min_share: float = 0.1,
                      min_windows: int = 3) -> tuple[int, np.ndarray]:
    """The number of speakers and the windows' labels. A partition into k ≥ 2 clusters is believable when every
    cluster holds at least ``min_share`` of the windows (and ``min_windows``) and no two centroids are closer
    than ``min_distance``. When the partition into ``max(2, min_k)`` is believable and its silhouette reaches
    ``min_silhouette``, the believable partition with the best silhouette wins; otherwise everything is one
    speaker (or, when ``min_k`` ≥ 2, the partition with the best silhouette). The answer stays in
    ``min_k``..``max_k``."""
    n = len(embeddings)
    if n < 2 or max_k == 1:
        return 1, np.zeros(n, dtype=int)
    found = partitions(embeddings, max_k)
    wanted = [p for p in found if p.k >= min_k]
    fine = [p for p in wanted if p.min_share >= min_share and p.min_count >= min_windows
            and p.min_distance >= min_distance]
    first = next((p for p in found if p.k == max(2, min_k)), None)
    if first in fine and first.silhouette >= min_silhouette:  # more than one voice: then how many
        best = max(fine, key=lambda p: p.silhouette)
        return best.k, best.labels
    if min_k <= 1 or not wanted:
        return 1, np.zeros(n, dtype=int)
    best = max(wanted, key=lambda p: p.silhouette)  # at least min_k speakers were asked for
    return best.k, best.labels


def cluster(embeddings: np.ndarray, *, speakers: int | None, min_k: int = 1, max_k: int = 8,
            **estimate: float) -> np.ndarray:
    """Labels per window: ``speakers`` clusters when given, otherwise ``estimate_speakers`` decides."""
    if len(embeddings) == 0:
        return np.zeros(0, dtype=int)
    if speakers:
        return assign(embeddings, speakers)
    return estimate_speakers(embeddings, min_k=min_k, max_k=max_k, **estimate)[1]


def mode_filter(labels: np.ndarray, width: int) -> np.ndarray:
    """Each label replaced by the most frequent one among the ``width`` (odd) labels centred on it; ties keep
    the label itself."""
    labels = np.asarray(labels, dtype=int)
    half = max(0, width // 2)
    if half == 0 or len(labels) < 3:
        return labels.copy()
    out = labels.copy()
    for i in range(len(labels)):
        near = labels[max(0, i - half): i + half + 1]
        counts = np.bincount(near)
        if counts.max() > counts[labels[i]]:
            out[i] = int(np.argmax(counts))
    return out
