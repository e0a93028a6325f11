"""`CoarseFilter`: exact top-k cosine search over a large pool with a certified 8-bit pre-scan."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

COARSE_MIN_POOL = 20_000  # below this the fp32 brute force is already fast
COARSE_MAX_BATCH = 8  # a larger batch of queries goes to the BLAS brute force


class CoarseFilter:
    """Exact top-k cosine search with an 8-bit pre-scan and a certificate.

    Brute force over ``[n_pool, d_embed]`` fp32 vectors is bound by memory traffic (the 127k x 384
    AG News pool is 196 MB per query, ~20 ms on a laptop CPU). This keeps a copy of the unit
    vectors as 8-bit codes (FAISS ``IndexScalarQuantizer``, ``QT_8bit``: one byte per dimension
    between that dimension's minimum and maximum; 49 MB), split into one shard per CPU core and
    scanned in parallel (FAISS releases the GIL; one query would otherwise use one core), and
    answers in two steps:

    1. each shard returns its m items with the largest approximate cosines ``a_i = q . x_hat_i``
       (``x_hat``: the decoded vector); for a unit query ``|q . x_i - a_i| <= ||x_i - x_hat_i||
       <= err`` (Cauchy-Schwarz), with ``err`` the largest reconstruction error in the pool,
       measured here;
    2. the returned items are re-scored with their fp32 vectors. Their k-th best exact cosine
       ``lb`` is a lower bound of the true k-th cosine, and an item a shard did not return has
       ``q . x <= a_last + err``, ``a_last`` being that shard's m-th approximate score. So if
       ``a_last + err < lb`` for every shard, no other item can enter the top k and the
       re-scored list holds the exact answer. Otherwise m grows, and past ``MAX_CANDIDATES`` the
       query falls back to the fp32 brute force. The result never depends on luck: it is the
       brute force's answer, certified per query.

    Ties are broken by the lower pool index.
    """

    MAX_CANDIDATES = 4096

    def __init__(self, emb: np.ndarray, n_shards: int | None = None) -> None:
        import faiss

        x = np.ascontiguousarray(emb, dtype=np.float32)
        self.n, self.d = x.shape
        quantizer = faiss.IndexScalarQuantizer(
            self.d, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        quantizer.train(x)  # per-dimension min and max, shared by the shards
        err = np.zeros(self.n, dtype=np.float64)
        for start in range(0, self.n, 16384):
            part = x[start : start + 16384]
            err[start : start + 16384] = np.linalg.norm(
                part - quantizer.sa_decode(quantizer.sa_encode(part)), axis=1
            )
        # slack for the float32 sums of the scan and of the re-scoring
        self.err = float(err.max()) + 1e-4
        shards = max(1, min(n_shards or (os.cpu_count() or 1), 4, self.n // 1024 or 1))
        self.starts = [self.n * j // shards for j in range(shards + 1)]
        self.shards = []
        for j in range(shards):
            shard = faiss.clone_index(quantizer)
            shard.add(x[self.starts[j] : self.starts[j + 1]])
            self.shards.append(shard)
        # each shard thread scans one query on one core: no OpenMP team of its own under it
        self._pool = (
            ThreadPoolExecutor(
                shards, thread_name_prefix="demo-index", initializer=faiss.omp_set_num_threads, initargs=(1,)
            )
            if shards > 1
            else None
        )
        self.fallbacks = 0  # queries the certificate could not settle (answered by brute force)

    def _scan(self, q: np.ndarray, m: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per shard: approximate scores `[m']` (descending) and pool ids `[m']`."""

        def one(j: int) -> tuple[np.ndarray, np.ndarray]:
            raw, ids = self.shards[j].search(q[None, :], min(m, self.starts[j + 1] - self.starts[j]))
            keep = ids[0] >= 0
            return raw[0][keep], ids[0][keep].astype(np.int64) + self.starts[j]

        if self._pool is None:
            return [one(0)]
        return list(self._pool.map(one, range(len(self.shards))))

    def search(self, emb: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Top-k `(scores [k], ids [k])` of one unit query `q` `[d_embed]` over `emb` `[n_pool, d_embed]`.

        Returns None when no certificate was found within `MAX_CANDIDATES` per shard (the caller
        then runs the brute force).
        """
        m = max(64, 4 * k)
        while True:
            parts = self._scan(q, m)
            cand = np.concatenate([ids for _, ids in parts])
            exact = emb[cand] @ q  # [n_cand] fp32 cosines
            order = np.lexsort((cand, -exact))[:k]
            lb = float(exact[order[-1]])
            bound = max(
                (
                    float(raw[-1]) + self.err
                    for (raw, _), j in zip(parts, range(len(parts)), strict=True)
                    if len(raw) < self.starts[j + 1] - self.starts[j]
                ),
                default=-np.inf,
            )
            if bound < lb:
                return exact[order].astype(np.float32), cand[order]
            if m >= self.MAX_CANDIDATES:
                self.fallbacks += 1
                return None
            m *= 4
