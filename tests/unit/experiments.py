"""One small valid `Experiment` for the tests of files, links and their limits."""

from __future__ import annotations

from typing import Any

from engine.experiments.share import Experiment


def make_experiment(**overrides: Any) -> Experiment:
    """A minimal SST-2 experiment (one demonstration, query "q"); `overrides` replace fields."""
    fields: dict[str, Any] = {
        "model": "smollm2-135m",
        "dataset": "sst2",
        "instruction": "",
        "template": "Review: {text}\nSentiment: {label}",
        "separator": "\n\n",
        "query": "q",
        "demos": (("great", "positive"),),
        "label_words": (("negative", "negative"), ("positive", "positive")),
    }
    return Experiment(**(fields | overrides))
