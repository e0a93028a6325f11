"""Demonstration indexes, by their old import path: every name re-exported from its own module.

* `engine.retrieval.encoder`: the bundled MiniLM sentence encoder (`MiniLMEncoder`, `normalise`).
* `engine.retrieval.fingerprint`: pool and per-text hashes (the cache keys).
* `engine.retrieval.index`: `DemoIndex` (exact cosine search in FAISS) and `get_demo_index`.
* `engine.retrieval.index_cache`: saving, loading, reusing and resuming indexes on disk.
* `engine.retrieval.coarse`: `CoarseFilter`, the certified 8-bit pre-scan of large pools.
* `engine.retrieval.bm25`: `BM25Index` (lexical retrieval).
* `engine.retrieval.projection`: `pca_map`, the 2-D map of the pool.
"""

from __future__ import annotations

from engine.core.progress import ProgressFn as ProgressFn  # re-exported
from engine.model.registry import ModelLoadError as ModelLoadError  # re-exported
from engine.model.registry import cache_dir as cache_dir  # re-exported
from engine.retrieval.bm25 import BM25Index as BM25Index  # re-exported
from engine.retrieval.bm25 import get_bm25_index as get_bm25_index  # re-exported
from engine.retrieval.coarse import COARSE_MAX_BATCH as COARSE_MAX_BATCH  # re-exported
from engine.retrieval.coarse import COARSE_MIN_POOL as COARSE_MIN_POOL  # re-exported
from engine.retrieval.coarse import CoarseFilter as CoarseFilter  # re-exported
from engine.retrieval.encoder import ENCODER_NAME as ENCODER_NAME  # re-exported
from engine.retrieval.encoder import ENCODER_PACKAGE as ENCODER_PACKAGE  # re-exported
from engine.retrieval.encoder import MiniLMEncoder as MiniLMEncoder  # re-exported
from engine.retrieval.encoder import TextEncoder as TextEncoder  # re-exported
from engine.retrieval.encoder import default_encoder as default_encoder  # re-exported
from engine.retrieval.encoder import encoder_path as encoder_path  # re-exported
from engine.retrieval.encoder import normalise as normalise  # re-exported
from engine.retrieval.fingerprint import INDEX_FORMAT as INDEX_FORMAT  # re-exported
from engine.retrieval.fingerprint import pool_fingerprint as pool_fingerprint  # re-exported
from engine.retrieval.fingerprint import text_hashes as text_hashes  # re-exported
from engine.retrieval.index import BuildStats as BuildStats  # re-exported
from engine.retrieval.index import DemoIndex as DemoIndex  # re-exported
from engine.retrieval.index import get_demo_index as get_demo_index  # re-exported
from engine.retrieval.projection import Projection as Projection  # re-exported
from engine.retrieval.projection import pca_map as pca_map  # re-exported
