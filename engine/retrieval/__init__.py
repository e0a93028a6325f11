"""Retrieval: which demonstrations go into a prompt, and in which order. Imports core, model, data
and prompting.

    context.py      RetrievalContext, RetrieverSpec / OrderingSpec, the name Literals, OPTIONS
    retrievers.py   every retriever (RETRIEVERS), the derived sets, select_demos, build_context
    orderings.py    every ordering (ORDERINGS), with Lu et al.'s GlobalE / LocalE search
    diversity.py    MMR, DPP greedy MAP and Vote-k maths
    probes.py       model probes: label distributions, prompt text, sampled probes
    index.py        DemoIndex: exact cosine search over MiniLM embeddings (FAISS)
    encoder.py, fingerprint.py, index_cache.py, coarse.py   its encoder, cache keys, disk cache,
                    certified 8-bit pre-scan
    bm25.py         BM25Index (lexical);  projection.py: pca_map (the 2-D map)
    demo_index.py   the old import path of the index modules (re-exports)

How to add a retriever: docs/howto/retriever.md.
"""
