"""Interpretability: attention-head scores, head ablation and attention over prompt parts.

Imports core, model, data and prompting.
"""
