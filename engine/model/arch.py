"""Model internals in one place: where a Llama/Gemma-style HF causal LM keeps its parts.

Everything above the model layer that needs more than the runner's protocol (the head scores,
head ablation, attention patterns) reads the model through these functions, so a new
architecture is taught here once instead of in every analysis (TransformerLens keeps this
knowledge in its hook points and components the same way).

The parts, with the names the functions give them (HF attribute paths of the bundled models)::

    embed       model.get_input_embeddings()         [d_vocab, d_model]
    decoder     model.get_decoder()                  the stack without the unembedding
    layers      decoder.layers[i]                    one block each
      attn        layers[i].self_attn                {q,k,v,o}_proj; o_proj reads the
                                                     concatenated head outputs [.., n_heads * d_head]
      norm_in     layers[i].input_layernorm          before attention
      norm_post   layers[i].post_attention_layernorm Gemma: after attention, before the residual
    final_norm  decoder.norm                         before the unembedding
    lm_head     model.get_output_embeddings()        [d_vocab, d_model]
    softcap     config.final_logit_softcapping       Gemma 2/3: logits -> cap * tanh(logits / cap)

RMS norms scale by ``weight`` (Llama) or ``1 + weight`` (Gemma); `norm_gain` hides that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

LAYER_PATHS = ("model.layers", "model.language_model.layers", "language_model.model.layers")

PreHook = Callable[[Any, tuple[Any, ...]], Any]


# --------------------------------------------------------------------------- finding the parts
def decoder_layers(model: Any) -> list[Any]:
    """The decoder layers of a Llama/Gemma-style HF causal LM (``model.model.layers``).

    Raises:
        ConfigError: the model has no such layers (the message says what is needed).
    """
    for path in LAYER_PATHS:
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        layers = list(obj)
        if layers and hasattr(layers[0], "self_attn") and hasattr(layers[0].self_attn, "o_proj"):
            return layers
    raise ConfigError(
        f"{type(model).__name__} is not supported for head analysis: it needs Llama/Gemma-style "
        "layers (model.model.layers[i].self_attn.{q,k,v,o}_proj)."
    )


def decoder(model: Any) -> Any:
    """The decoder stack without the unembedding (runs faster when only attention is read)."""
    return model.get_decoder() if hasattr(model, "get_decoder") else model


def attention(layer: Any) -> Any:
    """The attention module of one decoder layer."""
    return layer.self_attn


def out_proj(layer: Any) -> Any:
    """The attention output projection of one layer: its input is the heads' concatenated outputs."""
    return attention(layer).o_proj


def final_norm(model: Any) -> Any | None:
    """The norm before the unembedding, or None when the model has none."""
    return getattr(getattr(model, "model", model), "norm", None)


def lm_head(model: Any) -> Any:
    """The unembedding (``lm_head``) module."""
    head = model.get_output_embeddings()
    if head is None:
        raise ConfigError("The model has no output embedding (lm_head); copying needs one.")
    return head


def logit_softcap(model: Any) -> float | None:
    """Gemma's final logit soft cap (logits -> cap * tanh(logits / cap)), None when not capped."""
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    cap = getattr(text_cfg, "final_logit_softcapping", None)
    return float(cap) if cap else None


def is_gemma(model: Any) -> bool:
    """Gemma adds ``1 +`` to its norm weights and normalises the attention output again."""
    return "gemma" in str(getattr(model.config, "model_type", "")).lower()


def head_dim(model: Any, n_heads: int) -> int:
    """d_head, read from the first layer's ``o_proj`` (its input is n_heads * d_head wide)."""
    return int(out_proj(decoder_layers(model)[0]).in_features) // n_heads


def norm_gain(norm: Any, d_model: int) -> torch.Tensor:
    """Per-dimension gain `[d_model]` of an RMSNorm module (Gemma norms scale by ``1 + weight``)."""
    import torch

    weight = getattr(norm, "weight", None)
    if weight is None:
        return torch.ones(d_model)
    w = weight.detach().float().cpu()
    return 1.0 + w if type(norm).__name__.startswith("Gemma") else w


# --------------------------------------------------------------------------- weights
def ov_weights(model: Any, n_heads: int, d_model: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-head value and output maps with the norm gains folded in.

    ``W_V^h = diag(g_in) W_V`` with ``g_in`` the gain of ``input_layernorm``; with grouped-query
    attention query head h reads value head ``h // (n_heads / n_kv_heads)`` (HF ``repeat_kv``).
    On Gemma the attention output passes ``post_attention_layernorm`` before the residual, so
    ``W_O^h`` becomes ``W_O^h diag(1 + g_post)``.

    Returns:
        ``w_v`` `[layer, head, d_model, d_head]` and ``w_o`` `[layer, head, d_head, d_model]`.
    """
    import torch

    gemma = is_gemma(model)
    w_vs, w_os = [], []
    with torch.no_grad():
        for layer in decoder_layers(model):
            attn = attention(layer)
            v = attn.v_proj.weight.detach().float().cpu()  # [n_kv * d_head, d_model]
            o = attn.o_proj.weight.detach().float().cpu()  # [d_model, n_heads * d_head]
            d_head = o.shape[1] // n_heads
            n_kv = v.shape[0] // d_head
            if n_kv < 1 or n_heads % n_kv:
                raise ConfigError(f"Cannot map {n_heads} query heads onto {n_kv} value heads.")
            rep = n_heads // n_kv  # HF repeat_kv: query head h reads value head h // rep
            g_in = norm_gain(layer.input_layernorm, d_model)
            wv_kv = (v.view(n_kv, d_head, d_model) * g_in).transpose(1, 2)  # [n_kv, d_model, d_head]
            wv = wv_kv.repeat_interleave(rep, dim=0)  # [head, d_model, d_head]
            wo = o.t().reshape(n_heads, d_head, d_model)  # [head, d_head, d_model]
            if gemma:
                wo = wo * norm_gain(layer.post_attention_layernorm, d_model)
            w_vs.append(wv)
            w_os.append(wo)
    return torch.stack(w_vs), torch.stack(w_os)


def token_embed_unembed(model: Any, ids: torch.Tensor, d_model: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Embedding rows and unembedding columns of the tokens `ids`, the final norm's gain folded in.

    The embedding's ``sqrt(d_model)`` scale (Gemma) is a positive scalar and is left out.

    Returns:
        ``embed`` `[n_tok, d_model]` and ``unembed`` `[d_model, n_tok]` (float32, on the CPU).
    """
    import torch

    with torch.no_grad():
        embed = model.get_input_embeddings().weight.detach().float().cpu()[ids]  # [n_tok, d_model]
        u = lm_head(model).weight.detach().float().cpu()[ids]  # [n_tok, d_model]
        norm = final_norm(model)
        g_final = norm_gain(norm, d_model) if norm is not None else torch.ones(u.shape[1])
        unembed = (u * g_final).t()  # [d_model, n_tok]
    return embed, unembed


# --------------------------------------------------------------------------- running the parts
def attention_patterns(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[Any, ...]:
    """One decoder pass that returns every layer's attention `[batch, head, q_pos, k_pos]`.

    Only the decoder runs (no unembedding); the caller holds the runner's lock and
    ``torch.inference_mode``. The model must be loaded with eager attention.

    Raises:
        ConfigError: the model returned no attention patterns.
    """
    out = decoder(model)(
        input_ids=input_ids, attention_mask=attention_mask, output_attentions=True, use_cache=False
    )
    if not out.attentions:
        raise ConfigError("The model returned no attention patterns; load it with eager attention.")
    return tuple(out.attentions)


def run_decoder(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
    """One decoder pass for its side effects (hooks read activations); the output is dropped."""
    decoder(model)(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)


def hook_head_outputs(model: Any, layer: int, hook: PreHook) -> Any:
    """Registers `hook` as a forward pre-hook on layer `layer`'s ``o_proj`` (it sees and may
    replace the heads' concatenated outputs `[batch, pos, n_heads * d_head]`); returns the handle,
    whose ``remove()`` the caller must call."""
    return out_proj(decoder_layers(model)[layer]).register_forward_pre_hook(hook)
