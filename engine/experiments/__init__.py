"""Experiments: sensitivity lab, demonstration-selection comparisons, response ranking and
experiments as files and links.

Imports every layer below it; only cli (and the app) import it.
"""
