"""Scoring: direct, perplexity and channel scorers, and calibrations, turning log-probs into
one answer per label.

Imports core, model, data and prompting.
"""
