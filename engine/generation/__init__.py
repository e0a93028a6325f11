"""Generation: decoding strategies over a KV-cached model, streamed token by token, and metrics
of generated text against references.

Imports core, model, data and prompting.
"""
