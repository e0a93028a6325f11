"""`BM25Index`: lexical retrieval over the pool with ``bm25s`` (Lù, 2024), memoised per pool.

References:
    Lù, 2024, "BM25S: Orders of magnitude faster lexical search via eager sparse scoring", arXiv:2407.03618.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from engine.core.errors import ConfigError
from engine.retrieval.fingerprint import pool_fingerprint


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
_BM25_LOCK = threading.Lock()


def get_bm25_index(texts: Sequence[str], max_loaded: int = 3) -> BM25Index:
    """BM25 index of `texts`, memoised per pool in this process."""
    key = pool_fingerprint(texts, "bm25s")
    with _BM25_LOCK:
        hit = _BM25.get(key)
        if hit is not None:
            _BM25.move_to_end(key)
            return hit
    index = BM25Index(texts)
    with _BM25_LOCK:
        _BM25[key] = index
        while len(_BM25) > max_loaded:
            _BM25.popitem(last=False)
    return index
