"""Core: user-facing errors, content fingerprints, progress and stop hooks, background jobs,
text safety.

The bottom layer: everything may import it; it imports no other engine layer.
"""
