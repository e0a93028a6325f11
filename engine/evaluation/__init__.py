"""Evaluation: score every label of every test query and measure how well the model predicts.

Imports the layers below it (core .. scoring, retrieval, generation, interp).
"""
