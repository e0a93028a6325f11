"""`pca_map`: a 2-D PCA map of the pool's embeddings, with the query projected into the same plane."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from engine.retrieval.index import DemoIndex


@dataclass(frozen=True, slots=True)
class Projection:
    """A 2-D PCA map of the pool, with extra points projected into the same plane.

    Attributes:
        pool_ids: pool indices drawn on the map (a sample of a large pool, always including `must`).
        pool_xy: `[len(pool_ids), 2]` coordinates.
        extra_xy: `[n_extra, 2]` coordinates of the extra vectors (e.g. the query).
        explained: fraction of variance on each axis.
    """

    pool_ids: tuple[int, ...]
    pool_xy: np.ndarray
    extra_xy: np.ndarray
    explained: tuple[float, float]


def pca_map(
    index: DemoIndex,
    extra: np.ndarray,
    *,
    must: Sequence[int] = (),
    max_points: int = 2000,
    rng: np.random.Generator,
) -> Projection:
    """PCA of (a sample of) the pool embeddings; `extra` `[n_extra, d_embed]` is projected too.

    The axes are the two leading principal components of the drawn pool points, so the map is
    a faithful linear view (distances along the axes are real cosine-space distances).
    """
    emb = index.embeddings
    n = emb.shape[0]
    must_set = sorted({int(i) for i in must})
    if n > max_points:
        rest = np.setdiff1d(np.arange(n), np.asarray(must_set, dtype=np.int64))
        take = max(max_points - len(must_set), 0)
        drawn = rng.choice(rest, size=min(take, rest.size), replace=False)
        ids = np.sort(np.concatenate([np.asarray(must_set, dtype=np.int64), drawn]))
    else:
        ids = np.arange(n)
    x = emb[ids].astype(np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    if centred.shape[0] < 2:
        comps = np.eye(x.shape[1])[:2]
        var = np.array([0.0, 0.0])
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        comps = vt[:2] if vt.shape[0] >= 2 else np.vstack([vt, np.zeros_like(vt)])
        var = s[:2] ** 2 if s.size >= 2 else np.array([s[0] ** 2, 0.0])
        total = float((s**2).sum()) or 1.0
        var = var / total
    extra_arr = np.atleast_2d(np.asarray(extra, dtype=np.float64))
    pool_xy = centred @ comps.T
    extra_xy = (extra_arr - mean) @ comps.T if extra_arr.size else np.zeros((0, 2))
    return Projection(
        tuple(int(i) for i in ids),
        pool_xy.astype(np.float32),
        extra_xy.astype(np.float32),
        (float(var[0]), float(var[1])),
    )
