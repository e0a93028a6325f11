"""Data: classification benchmarks and uploads, generation tasks and their uploads.

Imports core and model only (and prompting, its neighbour on the same layer).
"""
