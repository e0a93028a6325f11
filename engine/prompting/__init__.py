"""Prompting: classification prompts (format, demonstrations, assembly, fitting a budget) and
generation / chain-of-thought prompts with answer parsing.

Imports core and model only (and data, its neighbour on the same layer).
"""
