"""The settings of one decoding strategy: widgets -> a `DecodeConfig`, and one line naming it.

Strategy titles come from the `DECODERS` specs' descriptions (translated by their text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

import streamlit as st

from components.i18n import t, t_error
from engine.core.errors import ConfigError
from engine.generation.config import DecodeConfig, StrategyName
from engine.generation.protocol import DECODERS

STRATEGY_TITLES = {name: spec.description for name, spec in DECODERS.items()}


def strategy_titles() -> dict[str, str]:
    """`STRATEGY_TITLES` in the UI language (translated now: widgets' format functions may be
    called outside the script run, where the language is not known)."""
    return {name: t(title) for name, title in STRATEGY_TITLES.items()}


def strategy_title(name: str) -> str:
    """The title of a decoding strategy in the UI language."""
    return strategy_titles().get(name, STRATEGY_TITLES.get(name, name))


def parse_stop_list(text: str) -> tuple[str, ...]:
    """Stop sequences typed as a comma-separated list, with ``\\n`` and ``\\t`` escapes."""
    out: list[str] = []
    for part in text.split(","):
        value = part.strip(" ").replace("\\n", "\n").replace("\\t", "\t")
        if value:
            out.append(value)
    return tuple(out)


def format_stop_list(stops: Sequence[str]) -> str:
    return ", ".join(s.replace("\n", "\\n").replace("\t", "\\t") for s in stops)


# ---------------------------------------------------------------- decoding controls
def decoding_controls(prefix: str, *, n_layers: int, default: StrategyName, seed: int) -> DecodeConfig | None:
    """The widgets of one strategy column; returns its config or shows the error and returns None.

    Args:
        prefix: widget key prefix (e.g. "gen_a").
        n_layers: the model's layer count (range of the early-exit amateur layer).
        default: the strategy selected at first.
        seed: the sampler seed (the sidebar's).
    """
    strategies: list[StrategyName] = list(get_args(StrategyName))
    titles = strategy_titles()
    strategy: StrategyName = st.selectbox(
        t("Strategy"),
        strategies,
        index=strategies.index(default),
        format_func=lambda s: titles.get(s, s),
        key=f"{prefix}_strategy",
    )
    kwargs: dict[str, Any] = {}
    if strategy == "sample":
        c1, c2, c3 = st.columns(3)
        kwargs["temperature"] = c1.number_input(
            t("temperature"), min_value=0.05, max_value=5.0, value=0.8, step=0.05, key=f"{prefix}_temperature"
        )
        top_k = c2.number_input(
            t("top-k (0 = off)"), min_value=0, max_value=1000, value=0, step=1, key=f"{prefix}_top_k"
        )
        top_p = c3.number_input(
            t("top-p (1 = off)"), min_value=0.01, max_value=1.0, value=0.95, step=0.01, key=f"{prefix}_top_p"
        )
        kwargs["top_k"] = int(top_k) or None
        kwargs["top_p"] = None if float(top_p) >= 1.0 else float(top_p)
    elif strategy == "beam":
        c1, c2 = st.columns(2)
        kwargs["num_beams"] = int(
            c1.number_input(t("beams"), min_value=1, max_value=16, value=4, step=1, key=f"{prefix}_beams")
        )
        kwargs["length_penalty"] = float(
            c2.number_input(
                t("length penalty"),
                min_value=-2.0,
                max_value=3.0,
                value=1.0,
                step=0.1,
                key=f"{prefix}_length_penalty",
                help=t(
                    "Finished beams are ranked by sum log p / length^penalty; 0 = raw sum (prefers short)."
                ),
            )
        )
    elif strategy == "contrastive":
        c1, c2, c3 = st.columns(3)
        kwargs["alpha"] = float(
            c1.number_input(
                t("α (plausibility)"),
                min_value=0.0,
                max_value=1.0,
                value=0.1,
                step=0.01,
                key=f"{prefix}_alpha",
                help=t("Only tokens with p ≥ α · max p are candidates (Li et al. 2023 use 0.1)."),
            )
        )
        kwargs["amateur_layer"] = int(
            c2.number_input(
                t("amateur layer"),
                min_value=1,
                max_value=max(1, n_layers - 1),
                value=max(1, n_layers // 2),
                step=1,
                key=f"{prefix}_amateur_layer",
                help=t(
                    "No smaller model shares this model's tokenizer, so the amateur is the model's own "
                    "early exit: the residual stream after this many layers, through the final norm and unembedding."
                ),
            )
        )
        kwargs["amateur_temperature"] = float(
            c3.number_input(
                t("amateur temperature"),
                min_value=0.05,
                max_value=5.0,
                value=1.0,
                step=0.05,
                key=f"{prefix}_amateur_temperature",
            )
        )
    with st.expander(t("Repetition penalties"), expanded=False):
        c1, c2 = st.columns(2)
        kwargs["presence_penalty"] = float(
            c1.number_input(
                t("presence"), min_value=-2.0, max_value=2.0, value=0.0, step=0.1, key=f"{prefix}_presence"
            )
        )
        kwargs["frequency_penalty"] = float(
            c2.number_input(
                t("frequency"), min_value=-2.0, max_value=2.0, value=0.0, step=0.1, key=f"{prefix}_frequency"
            )
        )
    try:
        return DecodeConfig(strategy=strategy, seed=seed, **kwargs)
    except ConfigError as exc:
        st.error(t_error(str(exc)))
        return None


def describe(cfg: DecodeConfig) -> str:
    """One line naming the strategy and its settings (in the UI language)."""
    off = t("off")
    if cfg.strategy == "sample":
        extra = f"T={cfg.temperature:g}, top-k={cfg.top_k or off}, top-p={cfg.top_p or off}, seed={cfg.seed}"
    elif cfg.strategy == "beam":
        extra = t("{n} beams, length penalty {penalty}", n=cfg.num_beams, penalty=f"{cfg.length_penalty:g}")
    elif cfg.strategy == "contrastive":
        extra = t(
            "α={alpha}, amateur = layer {layer}, τ_ama={tau}",
            alpha=f"{cfg.alpha:g}",
            layer=cfg.amateur_layer,
            tau=f"{cfg.amateur_temperature:g}",
        )
    else:
        extra = ""
    pen = ""
    if cfg.presence_penalty or cfg.frequency_penalty:
        pen = t(
            ", presence {presence}, frequency {frequency}",
            presence=f"{cfg.presence_penalty:g}",
            frequency=f"{cfg.frequency_penalty:g}",
        )
    return strategy_title(cfg.strategy) + (f" ({extra}{pen})" if extra or pen else "")
