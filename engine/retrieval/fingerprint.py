"""Fingerprints of a pool: one hash of all its texts (the cache key) and one 64-bit hash per text."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

INDEX_FORMAT = 1  # bump when the on-disk layout changes


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


def slug(name: str) -> str:
    """`name` made safe for a folder name (at most 60 characters)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60]
