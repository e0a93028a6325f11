"""`HFStepModel`: a `StepModel` over an `HFRunner`, with a transformers `DynamicCache`.

The prompt is run once, then each step feeds one token per row, and beam search reorders the
cache rows (`parents`). Every forward pass holds `runner.lock`.

Contrastive decoding's amateur is a smaller model sharing the tokenizer when one is given
(`HFStepModel(runner, amateur=...)`); otherwise (the bundled models share no tokenizer) it is the
same model's early exit: the residual stream after the first `amateur_layer` decoder layers,
passed through the model's final norm and unembedding (the "premature layer" of DoLa, Chuang et
al. 2024). The early exit costs no extra forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.errors import ConfigError
from engine.generation.function_model import FunctionStepModel
from engine.generation.protocol import StepModel, StepSession

if TYPE_CHECKING:
    import torch

    from engine.model.hf_runner import HFRunner


class HFStepModel:
    """`StepModel` over an `HFRunner`, with a KV cache reordered for beams.

    Args:
        runner: the expert model.
        amateur: a smaller model sharing the expert's tokenizer, for contrastive decoding. When
            None, contrastive decoding uses the expert's early-exit logits (see module docstring).
    """

    def __init__(self, runner: HFRunner, amateur: HFRunner | None = None) -> None:
        self.runner = runner
        self.amateur = amateur
        tok = runner.tokenizer
        if amateur is not None and amateur.tokenizer.get_vocab() != tok.get_vocab():
            raise ConfigError(
                f"The amateur model {amateur.info.name!r} does not share the tokenizer of "
                f"{runner.info.name!r}; contrastive decoding needs the same vocabulary. Leave the amateur "
                "unset to use the model's own early-exit layer."
            )
        eos: set[int] = set()
        for cand in (tok.eos_token_id, getattr(runner.model.generation_config, "eos_token_id", None)):
            if isinstance(cand, int):
                eos.add(cand)
            elif isinstance(cand, list | tuple):
                eos.update(int(c) for c in cand)
        self._eos = frozenset(eos)
        self._prepared = False

    @property
    def d_vocab(self) -> int:
        return int(self.runner.model.get_output_embeddings().weight.shape[0])

    @property
    def n_ctx(self) -> int:
        return self.runner.info.n_ctx

    @property
    def eos_ids(self) -> frozenset[int]:
        return self._eos

    @property
    def n_layers(self) -> int:
        return self.runner.info.n_layers

    def encode_prompt(self, text: str) -> list[int]:
        ids = self.runner.encode(text)
        if not ids:
            tok = self.runner.tokenizer
            bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            ids = [int(bos if bos is not None else 0)]
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return str(
            self.runner.tokenizer.decode(
                [int(i) for i in ids], skip_special_tokens=False, clean_up_tokenization_spaces=False
            )
        )

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return self.runner.token_strings(ids)

    def default_amateur_layer(self) -> int:
        return max(1, self.n_layers // 2)

    def prepare(self) -> None:
        """Loads the transformers model (a runner may start on the lean path) and runs one token
        through it, so that weights mapped from disk and the first call's kernel set-up are paid
        here, not in the first generation's time."""
        if self._prepared:
            return
        import torch

        for runner in (self.runner, self.amateur):
            if runner is None:
                continue
            model = runner.model
            device = next(model.parameters()).device
            with torch.no_grad():
                model(input_ids=torch.tensor([[self.encode_prompt("")[0]]], device=device))
        self._prepared = True

    def open(
        self, prompt_ids: Sequence[int], *, amateur: bool = False, amateur_layer: int | None = None
    ) -> StepSession:
        if not amateur:
            return _HFSession(self.runner, prompt_ids, None)
        if self.amateur is not None:
            return _PairedSession(
                _HFSession(self.runner, prompt_ids, None), _HFSession(self.amateur, prompt_ids, None)
            )
        layer = self.default_amateur_layer() if amateur_layer is None else amateur_layer
        if not 1 <= layer < self.n_layers:
            raise ConfigError(
                f"The amateur (early-exit) layer must be between 1 and {self.n_layers - 1} for "
                f"{self.runner.info.name} ({self.n_layers} layers), got {layer}."
            )
        return _HFSession(self.runner, prompt_ids, layer)


def _decoder(model: Any) -> Any:
    dec = model.get_decoder() if hasattr(model, "get_decoder") else model.model
    if not hasattr(dec, "layers") or not hasattr(dec, "norm"):
        raise ConfigError(
            f"{type(model).__name__} does not expose decoder layers and a final norm, so early-exit "
            "logits are not available; pick another strategy."
        )
    return dec


class _HFSession:
    """KV-cached decoding rows of one HF model; optional early-exit logits at `exit_layer`."""

    def __init__(self, runner: HFRunner, prompt_ids: Sequence[int], exit_layer: int | None) -> None:
        import torch
        from transformers import DynamicCache

        self.runner = runner
        self.exit_layer = exit_layer
        self._rows = 1
        model = runner.model
        self.cache = DynamicCache(config=model.config)
        self._run(torch.tensor([list(prompt_ids)], dtype=torch.long))

    @property
    def n_rows(self) -> int:
        return self._rows

    def _run(self, input_ids: torch.Tensor) -> None:
        """One forward pass of `input_ids` `[row, pos]` on top of the cache; keeps last-position log-probs."""
        import torch

        model = self.runner.model
        captured: list[torch.Tensor] = []
        handle = None
        if self.exit_layer is not None:
            layer = _decoder(model).layers[self.exit_layer - 1]

            def hook(_mod: Any, _inp: Any, out: Any) -> None:
                hidden = out[0] if isinstance(out, tuple) else out
                captured.append(hidden[:, -1:, :])  # [row, 1, d_model]

            handle = layer.register_forward_hook(hook)
        try:
            with self.runner.lock, torch.inference_mode():
                out = model(
                    input_ids=input_ids.to(self.runner.device), past_key_values=self.cache, use_cache=True
                )
                self.cache = out.past_key_values
                self._lp = torch.log_softmax(out.logits[:, -1, :].double(), dim=-1).cpu().numpy()
                if captured:
                    self._ama = self._early_exit_logprobs(captured[-1])
        finally:
            if handle is not None:
                handle.remove()
        self.runner.work.add(int(input_ids.numel()), 1)

    def _early_exit_logprobs(self, hidden: torch.Tensor) -> np.ndarray:
        """Final norm + unembedding of a lower layer's residual stream `[row, 1, d_model]`."""
        import torch

        model = self.runner.model
        logits = model.get_output_embeddings()(_decoder(model).norm(hidden))[:, -1, :].double()
        cap = getattr(model.config.get_text_config(), "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return torch.log_softmax(logits, dim=-1).cpu().numpy()

    def logprobs(self) -> np.ndarray:
        return self._lp

    def amateur_logprobs(self) -> np.ndarray:
        if self.exit_layer is None:
            raise ConfigError("This session has no amateur; open it with amateur=True.")
        return self._ama

    def advance(self, parents: Sequence[int], tokens: Sequence[int]) -> None:
        import torch

        if list(parents) != list(range(self._rows)):
            idx: Any = torch.tensor(list(parents), dtype=torch.long, device=self.runner.device)
            self.cache.reorder_cache(idx)  # index_select on every layer: copies, drops or expands rows
        self._rows = len(tokens)
        self._run(torch.tensor([[int(t)] for t in tokens], dtype=torch.long))


@dataclass(slots=True)
class _PairedSession:
    """An expert session and a separate amateur model's session, advanced together."""

    expert: _HFSession
    amateur: _HFSession

    @property
    def n_rows(self) -> int:
        return self.expert.n_rows

    def logprobs(self) -> np.ndarray:
        return self.expert.logprobs()

    def amateur_logprobs(self) -> np.ndarray:
        lp = self.amateur.logprobs()
        width = self.expert.logprobs().shape[-1]
        if lp.shape[-1] == width:
            return lp
        out = np.full((lp.shape[0], width), -np.inf)  # padded embeddings differ: missing ids are impossible
        n = min(width, lp.shape[-1])
        out[:, :n] = lp[:, :n]
        return out

    def advance(self, parents: Sequence[int], tokens: Sequence[int]) -> None:
        self.expert.advance(parents, tokens)
        self.amateur.advance(parents, tokens)


def as_step_model(runner: Any, *, amateur: Any = None) -> StepModel:
    """The `StepModel` for a runner: `HFStepModel` for an `HFRunner`, else a fake's function model."""
    from engine.model.hf_runner import HFRunner

    if isinstance(runner, HFRunner):
        return HFStepModel(runner, amateur)
    if hasattr(runner, "logits_fn") and hasattr(runner, "vocab"):
        return FunctionStepModel.from_fake(runner)
    raise ConfigError(f"Generation needs a Hugging Face model; {type(runner).__name__} cannot generate.")
