"""The ``transformers`` calls that read a tokenizer and a causal LM from disk, safely.

Safety: ``trust_remote_code`` is never set, and model weights are read from safetensors
(``use_safetensors=True``) or GGUF files only, never from pickled checkpoints. Models load in fp32
with eager attention, so the attention patterns the interp pages show are the computed ones.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

# keys of tokenizer_config.json passed on when tokenizer.json is read directly
_TOKENIZER_KEYS = ("bos_token", "eos_token", "pad_token", "unk_token", "add_bos_token", "add_eos_token")


def load_tokenizer(path: Path, gguf_file: str | None = None) -> Any:
    """The tokenizer of a model directory (or of a GGUF file in it, when `gguf_file` is given).

    A directory with a ``tokenizer.json`` is read directly with ``PreTrainedTokenizerFast`` (with
    the special tokens and chat template of its ``tokenizer_config.json``), which skips
    ``AutoTokenizer``'s slow lookups. When that fails, the failure is logged with its reason and
    ``AutoTokenizer`` is tried; its own error, if any, is what the caller sees.
    """
    from transformers import AutoTokenizer

    if gguf_file is None and (path / "tokenizer.json").exists():
        from transformers import PreTrainedTokenizerFast

        cfg_path = path / "tokenizer_config.json"
        kwargs: dict[str, Any] = {}
        if cfg_path.exists():
            cfg = json.loads(cfg_path.read_text())
            for key in _TOKENIZER_KEYS:
                if key in cfg and cfg[key] is not None:
                    kwargs[key] = cfg[key]
            if cfg.get("chat_template"):
                kwargs["chat_template"] = cfg["chat_template"]
        chat = path / "chat_template.jinja"
        if chat.exists() and "chat_template" not in kwargs:
            kwargs["chat_template"] = chat.read_text()
        try:
            return PreTrainedTokenizerFast(tokenizer_file=str(path / "tokenizer.json"), **kwargs)
        except Exception as exc:  # the tokenizers library raises bare Exceptions; fall back, said in the log
            _log.warning(
                "Reading %s directly failed (%s: %s); trying AutoTokenizer instead.",
                path / "tokenizer.json",
                type(exc).__name__,
                exc,
            )
    if gguf_file is not None:
        return AutoTokenizer.from_pretrained(str(path), gguf_file=gguf_file, trust_remote_code=False)
    return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)


def load_model(model_dir: Path, gguf_file: str | None) -> Any:
    """The ``transformers`` causal LM of a safetensors directory, or of a GGUF file in `model_dir`."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"trust_remote_code": False, "attn_implementation": "eager", "dtype": "float32"}
    if gguf_file is not None:
        return AutoModelForCausalLM.from_pretrained(str(model_dir), gguf_file=gguf_file, **kwargs)
    return AutoModelForCausalLM.from_pretrained(str(model_dir), use_safetensors=True, **kwargs)
