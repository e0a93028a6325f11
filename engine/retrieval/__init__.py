"""Retrieval: demonstration retrievers, orderings and the embedding / BM25 indexes they use.

Imports core, model, data and prompting.
"""
