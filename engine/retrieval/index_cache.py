"""The demo index's disk cache: save / load one index, reuse embeddings, resume a broken build.

An index lives in ``<cache>/demo_index/<encoder>-<fingerprint>/`` as ``index.faiss`` (the unit
vectors), ``hashes.npy`` (a 64-bit hash per text) and ``meta.json``. Two savings on top:

* a build first copies the embeddings of texts already present in any cached index of the same
  encoder (matched by the per-text hashes, `reuse_embeddings`), so a test/pool split of an indexed
  data set, or a sample of it, costs no encoding;
* a large build writes each encoded chunk to ``<folder>.partial/`` (`save_chunk`) and a later
  build of the same pool resumes from there (`resume_chunks`), so an interrupted build loses at
  most one chunk.

Every function here works on arrays, FAISS indexes and folders; `engine.retrieval.index.DemoIndex`
calls them.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.retrieval.fingerprint import INDEX_FORMAT


def save_index(folder: Path, index: Any, hashes: np.ndarray | None, meta: dict[str, Any]) -> None:
    """Writes ``index.faiss``, ``hashes.npy`` and ``meta.json`` atomically (temp folder, then rename).

    Args:
        folder: the index's cache folder.
        index: the FAISS index of the unit vectors.
        hashes: `[n_pool]` per-text hashes (None: not written, so no other pool reuses these rows).
        meta: written to ``meta.json`` after the format number.
    """
    import faiss

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    faiss.write_index(index, str(tmp / "index.faiss"))
    if hashes is not None:
        np.save(tmp / "hashes.npy", hashes)
    (tmp / "meta.json").write_text(json.dumps({"format": INDEX_FORMAT, **meta}, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    try:
        tmp.rename(folder)
    except OSError:  # another process saved the same index first: theirs is identical
        shutil.rmtree(tmp, ignore_errors=True)


def load_index(
    folder: Path, fingerprint: str, encoder_name: str, n: int
) -> tuple[Any, dict[str, Any]] | None:
    """(FAISS index, meta) saved in `folder` for this pool and encoder, or None (a damaged or
    different entry is rebuilt)."""
    import faiss

    meta_path, index_path = folder / "meta.json", folder / "index.faiss"
    if not (meta_path.exists() and index_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if (
            meta.get("format") != INDEX_FORMAT
            or meta.get("fingerprint") != fingerprint
            or meta.get("encoder") != encoder_name
            or int(meta.get("n", -1)) != n
        ):
            return None
        index = faiss.read_index(str(index_path))
    except (OSError, ValueError, RuntimeError):
        return None
    if index.ntotal != n:
        return None
    return index, meta


def reuse_embeddings(
    root: Path, prefix: str, encoder_name: str, hashes: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray]:
    """Embeddings of texts already in cached indexes of other pools (same encoder).

    Args:
        root: the cache folder of all indexes; prefix: the encoder's folder-name prefix.
        hashes: `[n]` per-text hashes of the pool being built.

    Returns:
        `[n, d_embed]` (or None when nothing was found) and the `[n]` mask of rows filled.
        Only donors that cover at least half of the missing texts (or 1,000 of them) are read.
    """
    import faiss

    found = np.zeros(hashes.size, dtype=bool)
    emb: np.ndarray | None = None
    if not root.is_dir():
        return None, found
    donors = []
    for d in root.iterdir():
        if d.name.startswith(prefix) and (d / "hashes.npy").exists() and (d / "index.faiss").exists():
            try:
                meta = json.loads((d / "meta.json").read_text())
            except (OSError, ValueError):
                continue
            if meta.get("format") == INDEX_FORMAT and meta.get("encoder") == encoder_name:
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


def resume_chunks(
    partial: Path, n: int, emb: np.ndarray | None, found: np.ndarray
) -> tuple[np.ndarray | None, float, int]:
    """Fills `emb` / `found` (in place when `emb` exists) from the chunks of an interrupted build.

    Returns:
        (embeddings `[n, d_embed]` or None, encoding seconds those chunks took, texts resumed).
    """
    prior_secs, n_resumed = 0.0, 0
    for f in sorted(partial.glob("chunk-*.npz")):
        try:
            with np.load(f) as z:
                ids_f, vec_f, secs_f = z["ids"], z["emb"], float(z["seconds"])
        except (OSError, ValueError, KeyError):
            continue
        if emb is None:
            emb = np.zeros((n, vec_f.shape[1]), dtype=np.float32)
        if vec_f.shape[1] != emb.shape[1] or (ids_f.size and int(ids_f.max()) >= n):
            continue
        emb[ids_f] = vec_f
        found[ids_f] = True
        prior_secs += secs_f
        n_resumed += int(ids_f.size)
    return emb, prior_secs, n_resumed


def save_chunk(partial: Path, ids: list[int], chunk: np.ndarray, seconds: float) -> None:
    """Saves one encoded chunk (`[len(ids), d_embed]`) of a build, atomically, for `resume_chunks`."""
    partial.mkdir(parents=True, exist_ok=True)
    tmp = partial / f".tmp-{os.getpid()}.npz"
    np.savez(tmp, ids=np.asarray(ids, dtype=np.int64), emb=chunk, seconds=seconds)
    os.replace(tmp, partial / f"chunk-{time.time_ns()}-{os.getpid()}.npz")
