"""`DemoIndex`: exact cosine search over the pool's sentence embeddings (FAISS ``IndexFlatIP``).

One L2-normalised MiniLM embedding per pool text (`engine.retrieval.encoder`), so an inner product
*is* the cosine similarity and search is exact. KATE (Liu et al., 2021) showed that the
demonstrations nearest to the query in such a space make much better prompts than random ones.

Building is explicit (`DemoIndex.build`, never in ``__init__``) because it is expensive: MiniLM
costs about 1 GFLOP per 50-token text, so a laptop CPU embeds a few hundred texts per second and
a busy 2-core machine a few dozen; the 127k AG News pool takes from many minutes to hours. The
result is saved on disk (`engine.retrieval.index_cache`) under a fingerprint of the encoder and
every pool text, so an unchanged pool loads in about a second; `get_demo_index` also keeps the
last few in memory. Large pools answer single queries through `engine.retrieval.coarse`.

Shapes:
    embeddings   [n_pool, d_embed]   float32, unit rows
    queries      [n_query, d_embed]
    search ->    scores [n_query, k] (cosine, descending), ids [n_query, k] (pool indices)

References:
    Liu et al., 2021, "What Makes Good In-Context Examples for GPT-3?" (KATE), arXiv:2101.06804.
    Johnson et al., 2017, "Billion-scale similarity search with GPUs" (FAISS), arXiv:1702.08734.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn
from engine.model.registry import cache_dir
from engine.retrieval.coarse import COARSE_MAX_BATCH, COARSE_MIN_POOL, CoarseFilter
from engine.retrieval.encoder import TextEncoder, default_encoder, normalise
from engine.retrieval.fingerprint import pool_fingerprint, slug, text_hashes
from engine.retrieval.index_cache import (
    load_index,
    resume_chunks,
    reuse_embeddings,
    save_chunk,
    save_index,
)


@dataclass(frozen=True, slots=True)
class BuildStats:
    """How an index came to be.

    Attributes:
        n_texts: pool size.
        seconds: wall time of `build` (encoding, or loading from the cache), plus the encoding
            time of the interrupted runs it resumed.
        texts_per_s: encoding throughput of the texts encoded now (0 when none were).
        from_cache: True when the whole index was loaded instead of encoded.
        path: the cache folder ("" when caching was off).
        n_encoded: texts encoded by this build, including chunks of an interrupted run it resumed
            (the rest came from a cached index of another pool).
    """

    n_texts: int
    seconds: float
    texts_per_s: float
    from_cache: bool
    path: str
    n_encoded: int = 0


class DemoIndex:
    """Exact cosine search over a demonstration pool (FAISS ``IndexFlatIP`` on unit vectors).

    Construct, then call `build(texts)` (or `from_embeddings`). Query embeddings are memoised
    (LRU), because retrievers and orderings ask for the same query several times.

    Args:
        encoder: the sentence encoder; defaults to the shared bundled MiniLM.
        cache_root: where indexes are saved; defaults to ``engine.model.registry.cache_dir() / "demo_index"``.
        device: device of the default encoder.
    """

    def __init__(
        self,
        encoder: TextEncoder | None = None,
        *,
        cache_root: Path | None = None,
        device: str | None = None,
    ) -> None:
        self.encoder: TextEncoder = encoder if encoder is not None else default_encoder(device)
        self.cache_root = cache_root
        self.fingerprint: str | None = None
        self.stats: BuildStats | None = None
        self._index: Any = None
        self._emb: np.ndarray | None = None
        self._hashes: np.ndarray | None = None
        self.meta: dict[str, Any] = {}
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qlock = threading.Lock()
        self._coarse: CoarseFilter | None = None
        self.max_cached_queries = 4096

    # ------------------------------------------------------------------ building
    @property
    def built(self) -> bool:
        return self._index is not None

    def folder(self, fingerprint: str) -> Path:
        root = self.cache_root if self.cache_root is not None else cache_dir() / "demo_index"
        return root / f"{slug(self.encoder.name)}-{fingerprint[:24]}"

    def build(
        self,
        texts: Sequence[str],
        *,
        progress: ProgressFn | None = None,
        use_cache: bool = True,
        chunk_size: int = 512,
    ) -> DemoIndex:
        """Embeds `texts` (or loads their saved index) and fills the FAISS index.

        Texts are encoded longest first in chunks (less padding per batch); `progress` gets the
        fraction done and a message with the throughput after each chunk.

        Returns:
            self, for chaining.

        Raises:
            ConfigError: the pool is empty.
        """
        if not texts:
            raise ConfigError("The demonstration pool is empty; there is nothing to index.")
        start = time.perf_counter()
        fp = pool_fingerprint(texts, self.encoder.name)
        folder = self.folder(fp)
        if use_cache and self._try_load(folder, fp, len(texts)):
            secs = time.perf_counter() - start
            self.stats = BuildStats(len(texts), secs, 0.0, True, str(folder))
            if progress is not None:
                progress(1.0, f"Loaded the demo index of {len(texts):,} texts from the cache ({secs:.1f} s).")
            return self
        hashes = text_hashes(texts)
        emb, found = self._reuse(hashes) if use_cache else (None, np.zeros(len(texts), dtype=bool))
        # chunks saved by an interrupted build of this very pool (resumable builds)
        partial = folder.parent / f"{folder.name}.partial"
        prior_secs, n_resumed = 0.0, 0
        if use_cache and partial.is_dir():
            emb, prior_secs, n_resumed = resume_chunks(partial, len(texts), emb, found)
        todo = [i for i in range(len(texts)) if not found[i]]
        if progress is not None and found.any():
            progress(
                float(found.mean()),
                f"Reused {int(found.sum()):,} embeddings (cached index of another pool or an interrupted build).",
            )
        order = sorted(todo, key=lambda i: -len(texts[i]))
        checkpoint = use_cache and len(order) > 4 * chunk_size
        t_enc = time.perf_counter()
        done = 0
        for lo in range(0, len(order), chunk_size):
            ids = order[lo : lo + chunk_size]
            t_chunk = time.perf_counter()
            chunk = normalise(self.encoder.encode([texts[i] for i in ids]))
            if emb is None:
                emb = np.zeros((len(texts), chunk.shape[1]), dtype=np.float32)
            emb[ids] = chunk
            done += len(ids)
            if checkpoint:
                save_chunk(partial, ids, chunk, time.perf_counter() - t_chunk)
            if progress is not None:
                rate = done / max(time.perf_counter() - t_enc, 1e-9)
                eta = (len(order) - done) / max(rate, 1e-9)
                progress(
                    (len(texts) - len(order) + done) / len(texts),
                    f"Embedding the pool: {done:,}/{len(order):,} texts ({rate:.0f} texts/s, ~{eta:.0f} s left)",
                )
        enc_secs = time.perf_counter() - t_enc
        assert emb is not None  # texts is non-empty, so something was encoded or reused
        self._set(emb, fp)
        self._hashes = hashes
        secs = time.perf_counter() - start
        n_enc_total = len(order) + n_resumed
        rate = n_enc_total / (enc_secs + prior_secs) if n_enc_total else 0.0
        path = ""
        if use_cache:
            self.save(
                folder,
                extra={
                    "build_seconds": round(secs + prior_secs, 3),
                    "texts_per_s": round(rate, 2),
                    "resumed_texts": n_resumed,
                },
            )
            shutil.rmtree(partial, ignore_errors=True)
            path = str(folder)
        self.stats = BuildStats(len(texts), secs + prior_secs, rate, False, path, n_enc_total)
        return self

    def _reuse(self, hashes: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Embeddings of these texts in cached indexes of other pools (see `reuse_embeddings`)."""
        return reuse_embeddings(
            self.folder("x").parent, slug(self.encoder.name) + "-", self.encoder.name, hashes
        )

    def from_embeddings(self, embeddings: np.ndarray, fingerprint: str = "manual") -> DemoIndex:
        """Fills the index from given `[n_pool, d_embed]` vectors (normalised here); returns self."""
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise ConfigError(
                f"Embeddings must be a non-empty [n_pool, d_embed] array, got shape {emb.shape}."
            )
        self._set(normalise(emb), fingerprint)
        self._hashes = None
        self.stats = BuildStats(emb.shape[0], 0.0, 0.0, False, "")
        return self

    def _set(self, emb: np.ndarray, fingerprint: str) -> None:
        import faiss

        index = faiss.IndexFlatIP(int(emb.shape[1]))
        index.add(np.ascontiguousarray(emb, dtype=np.float32))
        self._index = index
        self._emb = emb
        self.fingerprint = fingerprint
        with self._qlock:
            self._queries.clear()
            self._coarse = None

    def save(self, folder: Path, extra: dict[str, float] | None = None) -> None:
        """Writes ``index.faiss``, ``hashes.npy`` and ``meta.json`` atomically (see `save_index`)."""
        if self._index is None or self.fingerprint is None:
            raise ConfigError("The demo index is not built yet; call build() first.")
        meta = {
            "encoder": self.encoder.name,
            "fingerprint": self.fingerprint,
            "n": int(self._index.ntotal),
            "d_embed": int(self._index.d),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **(extra or {}),
        }
        save_index(folder, self._index, self._hashes, meta)

    def _try_load(self, folder: Path, fingerprint: str, n: int) -> bool:
        """Loads the saved index of this pool from `folder`; False when there is none (or it is damaged)."""
        loaded = load_index(folder, fingerprint, self.encoder.name, n)
        if loaded is None:
            return False
        self._index, self.meta = loaded
        self._emb = self._index.reconstruct_n(0, self._index.ntotal)
        self.fingerprint = fingerprint
        with self._qlock:
            self._queries.clear()
            self._coarse = None
        return True

    # ------------------------------------------------------------------ queries
    def _require(self) -> tuple[Any, np.ndarray]:
        if self._index is None or self._emb is None:
            raise ConfigError("The demo index is not built yet; call build() first.")
        return self._index, self._emb

    def __len__(self) -> int:
        return 0 if self._emb is None else int(self._emb.shape[0])

    @property
    def d_embed(self) -> int:
        return int(self._require()[1].shape[1])

    @property
    def embeddings(self) -> np.ndarray:
        """`[n_pool, d_embed]` unit vectors (read-only view)."""
        emb = self._require()[1]
        view = emb.view()
        view.flags.writeable = False
        return view

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """`[n_query, d_embed]` unit embeddings (memoised per text)."""
        self._require()
        missing = [t for t in dict.fromkeys(texts) if t not in self._queries]
        if missing:
            new = normalise(self.encoder.encode(missing))
            with self._qlock:
                for t, v in zip(missing, new, strict=True):
                    self._queries[t] = v
                while len(self._queries) > self.max_cached_queries:
                    self._queries.popitem(last=False)
        with self._qlock:
            out = []
            for t in texts:
                v = self._queries.get(t)
                if v is None:  # evicted between the two locks by a huge batch: recompute
                    v = normalise(self.encoder.encode([t]))[0]
                else:
                    self._queries.move_to_end(t)
                out.append(v)
        return np.stack(out).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """`[d_embed]` unit embedding of one query."""
        return self.embed_queries([text])[0]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k by cosine.

        Large pools (``n_pool >= COARSE_MIN_POOL``) answer a few queries through `CoarseFilter`:
        an 8-bit scan proposes candidates with a proven error bound, and their fp32 cosines pick
        the top k, so the answer equals the ``IndexFlatIP`` brute force (`search_flat`) at a
        quarter of the memory traffic. Batches of queries and small pools use the brute force.

        Args:
            queries: `[n_query, d_embed]` (or `[d_embed]`) unit vectors.
            k: neighbours per query (clipped to the pool size).

        Returns:
            scores `[n_query, k]` descending, ids `[n_query, k]` (int64 pool indices).
        """
        index, emb = self._require()
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(int(k), int(index.ntotal))
        if k <= 0:
            return np.zeros((q.shape[0], 0), np.float32), np.zeros((q.shape[0], 0), np.int64)
        if len(emb) >= COARSE_MIN_POOL and q.shape[0] <= COARSE_MAX_BATCH and k <= len(emb) // 8:
            coarse = self._coarse_filter()
            results = [coarse.search(emb, row, k) or self.search_flat(row, k) for row in q]
            return (
                np.stack([np.ravel(r[0]) for r in results]),
                np.stack([np.ravel(r[1]) for r in results]),
            )
        return self.search_flat(q, k)

    def search_flat(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k by FAISS ``IndexFlatIP`` brute force over the fp32 vectors (see `search`)."""
        index, _ = self._require()
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(int(k), int(index.ntotal))
        if k <= 0:
            return np.zeros((q.shape[0], 0), np.float32), np.zeros((q.shape[0], 0), np.int64)
        scores, ids = index.search(q, k)
        return scores, ids.astype(np.int64)

    def _coarse_filter(self) -> CoarseFilter:
        with self._qlock:
            if self._coarse is None:
                self._coarse = CoarseFilter(self._require()[1])
            return self._coarse

    def nearest(self, query: str, k: int) -> tuple[list[int], list[float]]:
        """Pool indices of the k texts most similar to `query`, and their cosines (descending)."""
        scores, ids = self.search(self.embed_query(query)[None, :], k)
        return [int(i) for i in ids[0]], [float(s) for s in scores[0]]

    def similarities(self, query: str, indices: Sequence[int] | None = None) -> np.ndarray:
        """Cosine of `query` to the given pool items (all when None). `[len(indices)]` float32."""
        _, emb = self._require()
        q = self.embed_query(query)
        rows = emb if indices is None else emb[np.asarray(list(indices), dtype=np.int64)]
        return np.asarray(rows @ q, dtype=np.float32)


# ---------------------------------------------------------------------- process cache
_LOADED: OrderedDict[tuple[str, str], DemoIndex] = OrderedDict()
_LOADED_LOCK = threading.Lock()


def get_demo_index(
    texts: Sequence[str],
    *,
    encoder: TextEncoder | None = None,
    device: str | None = None,
    progress: ProgressFn | None = None,
    max_loaded: int = 3,
) -> DemoIndex:
    """The index of `texts`, from this process's memory, the disk cache, or built now."""
    enc = encoder if encoder is not None else default_encoder(device)
    key = (enc.name, pool_fingerprint(texts, enc.name))
    with _LOADED_LOCK:
        hit = _LOADED.get(key)
        if hit is not None:
            _LOADED.move_to_end(key)
    if hit is not None:
        if progress is not None:
            progress(1.0, "Demo index already loaded.")
        return hit
    index = DemoIndex(enc).build(texts, progress=progress)
    with _LOADED_LOCK:
        _LOADED[key] = index
        while len(_LOADED) > max_loaded:
            _LOADED.popitem(last=False)
    return index
