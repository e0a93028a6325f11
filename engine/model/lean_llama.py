"""A lean Llama forward pass in plain torch, for a fast first score.

Importing a model class from ``transformers`` costs about 3 s on a 2-core laptop CPU (it pulls
in ``torch.distributed.tensor``, ``torch._dynamo``, sympy and scipy.optimize through
transformers' loading, kernel and loss modules), more than loading the weights and scoring a
prompt together. This module reads a Llama-architecture checkpoint (SmolLM2, the default model)
straight from the weight cache's ``config.json`` and ``model.safetensors`` and runs the same
computation as ``transformers``' ``LlamaForCausalLM`` with eager attention, op for op (RMSNorm
in fp32, rotary embeddings, grouped-query attention with an additive mask and an fp32 softmax,
SwiGLU MLP, tied or separate LM head), so its log-probs equal the HF model's to float32
rounding (checked against it in ``tests/integration/test_lean_llama.py``).

It implements only what the scoring fast path (`engine.model.prefix_cache`) and
`HFRunner.forward_logits` use: ``get_decoder()`` (a callable taking ``input_ids``,
``attention_mask``, ``past_key_values``, ``use_cache``), ``get_output_embeddings()``, ``config``,
``new_cache()`` and a full forward returning ``.logits``. Everything else (attention patterns,
head ablation hooks, generation) runs on the real ``transformers`` model, which `HFRunner` loads
on first use; from then on it scores with that model too, so hooks always apply.

Shapes follow TransformerLens names: ``[batch, pos, d_model]``, ``[batch, head, q_pos, k_pos]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

LEAN_MODEL_TYPES = ("llama",)


class LeanConfig:
    """The ``config.json`` fields the runner reads, as attributes (like a ``PretrainedConfig``)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.model_type = str(raw.get("model_type", ""))
        self.hidden_size = int(raw["hidden_size"])
        self.num_hidden_layers = int(raw["num_hidden_layers"])
        self.num_attention_heads = int(raw["num_attention_heads"])
        self.num_key_value_heads = int(raw.get("num_key_value_heads") or self.num_attention_heads)
        self.head_dim = int(raw.get("head_dim") or self.hidden_size // self.num_attention_heads)
        self.intermediate_size = int(raw["intermediate_size"])
        self.vocab_size = int(raw["vocab_size"])
        self.max_position_embeddings = int(raw.get("max_position_embeddings") or 2048)
        self.rms_norm_eps = float(raw.get("rms_norm_eps", 1e-6))
        rope = raw.get("rope_parameters") or raw.get("rope_scaling") or {}
        self.rope_theta = float(rope.get("rope_theta", raw.get("rope_theta", 10000.0)))
        self.rope_type = str(rope.get("rope_type", rope.get("type", "default")) or "default")
        self.tie_word_embeddings = bool(raw.get("tie_word_embeddings", False))
        self.final_logit_softcapping = None
        self.bos_token_id = raw.get("bos_token_id")
        self.eos_token_id = raw.get("eos_token_id")
        self.pad_token_id = raw.get("pad_token_id")

    def get_text_config(self) -> LeanConfig:
        return self


def lean_supported(model_dir: Path) -> bool:
    """True when `model_dir` holds a single-file safetensors checkpoint this module can run."""
    cfg_path = model_dir / "config.json"
    if not cfg_path.exists() or not (model_dir / "model.safetensors").exists():
        return False
    try:
        raw = json.loads(cfg_path.read_text())
    except (OSError, ValueError):
        return False
    rope = raw.get("rope_parameters") or raw.get("rope_scaling") or {}
    return (
        raw.get("model_type") in LEAN_MODEL_TYPES
        and raw.get("hidden_act", "silu") == "silu"
        and not raw.get("attention_bias", False)
        and not raw.get("mlp_bias", False)
        and str(rope.get("rope_type", rope.get("type", "default")) or "default") == "default"
        and int(raw.get("pretraining_tp", 1) or 1) == 1
    )


class LeanCache:
    """Keys and values per layer, `[batch, kv_head, pos, d_head]`, grown by each forward."""

    def __init__(self, n_layers: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * n_layers
        self.values: list[torch.Tensor | None] = [None] * n_layers

    def get_seq_length(self) -> int:
        k = self.keys[0]
        return 0 if k is None else int(k.shape[-2])

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pk, pv = self.keys[layer], self.values[layer]
        if pk is not None and pv is not None:
            k = torch.cat([pk, k], dim=-2)
            v = torch.cat([pv, v], dim=-2)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def batch_repeat_interleave(self, repeats: int) -> None:
        """Repeats every cached row `repeats` times along the batch (as HF's DynamicCache does)."""
        self.keys = [None if k is None else k.repeat_interleave(repeats, dim=0) for k in self.keys]
        self.values = [None if v is None else v.repeat_interleave(repeats, dim=0) for v in self.values]

    def __deepcopy__(self, memo: dict[int, Any]) -> LeanCache:
        out = LeanCache(len(self.keys))
        out.keys = [None if k is None else k.clone() for k in self.keys]
        out.values = [None if v is None else v.clone() for v in self.values]
        return out


@dataclass
class LeanOutput:
    last_hidden_state: torch.Tensor | None = None  # [batch, pos, d_model]
    logits: torch.Tensor | None = None  # [batch, pos, d_vocab]
    past_key_values: LeanCache | None = None


class Linear(nn.Module):
    """``y = x W^T`` with an uninitialised weight (the checkpoint assigns it).

    ``nn.Linear`` would initialise its weight at random first, and doing that on the meta device
    imports ``torch._dynamo`` (seconds), which is what this module avoids.
    """

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_out, d_in), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight)


class Embedding(nn.Module):
    """Token embedding with an uninitialised weight (see `Linear`)."""

    def __init__(self, d_vocab: int, d_model: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_vocab, d_model), requires_grad=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(ids, self.weight)


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d), requires_grad=False)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Block(nn.Module):
    """One decoder layer: pre-norm attention and pre-norm SwiGLU MLP, each with a residual."""

    def __init__(self, cfg: LeanConfig) -> None:
        super().__init__()
        d, hd = cfg.hidden_size, cfg.head_dim
        self.n_heads, self.n_kv, self.d_head = cfg.num_attention_heads, cfg.num_key_value_heads, hd
        self.q_proj = Linear(d, self.n_heads * hd)
        self.k_proj = Linear(d, self.n_kv * hd)
        self.v_proj = Linear(d, self.n_kv * hd)
        self.o_proj = Linear(self.n_heads * hd, d)
        self.gate_proj = Linear(d, cfg.intermediate_size)
        self.up_proj = Linear(d, cfg.intermediate_size)
        self.down_proj = Linear(cfg.intermediate_size, d)
        self.input_layernorm = RMSNorm(d, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(d, cfg.rms_norm_eps)

    def forward(
        self,
        x: torch.Tensor,  # [batch, pos, d_model]
        cos: torch.Tensor,  # [batch, pos, d_head]
        sin: torch.Tensor,
        mask: torch.Tensor,  # [batch, 1, q_pos, k_pos] additive
        cache: LeanCache | None,
        layer: int,
        shared: LeanCache | None = None,
    ) -> torch.Tensor:
        b, n, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, n, self.n_heads, self.d_head).transpose(1, 2)  # [batch, head, pos, d_head]
        k = self.k_proj(h).view(b, n, self.n_kv, self.d_head).transpose(1, 2)
        v = self.v_proj(h).view(b, n, self.n_kv, self.d_head).transpose(1, 2)
        c, s = cos.unsqueeze(1), sin.unsqueeze(1)
        q = (q * c) + (_rotate_half(q) * s)
        k = (k * c) + (_rotate_half(k) * s)
        if shared is not None:
            z = self._attend_shared(q, k, v, mask, shared, layer)
        else:
            if cache is not None:
                k, v = cache.update(layer, k, v)
            k, v = self._repeat_kv(k), self._repeat_kv(v)
            scores = (
                torch.matmul(q, k.transpose(2, 3)) * (self.d_head**-0.5) + mask
            )  # [batch, head, q_pos, k_pos]
            pattern = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
            z = torch.matmul(pattern, v).transpose(1, 2).reshape(b, n, self.n_heads * self.d_head)
        x = x + self.o_proj(z)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(nn.functional.silu(self.gate_proj(h)) * self.up_proj(h))

    def _repeat_kv(self, x: torch.Tensor) -> torch.Tensor:
        """`[batch, kv_head, pos, d_head]` -> `[batch, head, pos, d_head]` (each KV head serves its group)."""
        b, _, n, d = x.shape
        rep = self.n_heads // self.n_kv
        if rep == 1:
            return x
        return x[:, :, None].expand(b, self.n_kv, rep, n, d).reshape(b, self.n_heads, n, d)

    def _attend_shared(
        self,
        q: torch.Tensor,  # [batch, head, pos, d_head], rows that all continue one prefix
        k: torch.Tensor,  # [batch, kv_head, pos, d_head]
        v: torch.Tensor,
        mask: torch.Tensor,  # [batch, 1, pos, prefix + pos] additive
        shared: LeanCache,
        layer: int,
    ) -> torch.Tensor:
        """Attention of a batch of rows over one shared prefix cache (batch 1) and themselves.

        The prefix keys and values are never copied per row: the rows' queries are folded into
        one matrix per key-value head, ``[kv_head, batch * group * pos, d_head]``, and multiplied
        with the prefix's ``[kv_head, prefix, d_head]`` keys once (cascade / Hydragen-style
        attention). Only the rows' own keys (a few tokens each) are expanded. The softmax runs
        over the concatenated prefix and row scores in fp32, as in the plain path.
        """
        b, _, n, d = q.shape
        kp, vp = shared.keys[layer], shared.values[layer]
        assert kp is not None and vp is not None
        p = kp.shape[-2]
        rep = self.n_heads // self.n_kv
        scale = self.d_head**-0.5
        qf = q.view(b, self.n_kv, rep, n, d).permute(1, 0, 2, 3, 4).reshape(self.n_kv, b * rep * n, d)
        s_prefix = torch.bmm(qf, kp[0].transpose(1, 2))  # [kv_head, batch * group * pos, prefix]
        s_prefix = (
            s_prefix.view(self.n_kv, b, rep, n, p).permute(1, 0, 2, 3, 4).reshape(b, self.n_heads, n, p)
        )
        kr, vr = self._repeat_kv(k), self._repeat_kv(v)
        s_rows = torch.matmul(q, kr.transpose(2, 3))  # [batch, head, pos, pos]
        scores = torch.cat([s_prefix, s_rows], dim=-1) * scale + mask  # [batch, head, q_pos, k_pos]
        pattern = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        pf = (
            pattern[..., :p]
            .reshape(b, self.n_kv, rep, n, p)
            .permute(1, 0, 2, 3, 4)
            .reshape(self.n_kv, b * rep * n, p)
        )
        z_prefix = torch.bmm(pf, vp[0])  # [kv_head, batch * group * pos, d_head]
        z_prefix = (
            z_prefix.view(self.n_kv, b, rep, n, d).permute(1, 0, 2, 3, 4).reshape(b, self.n_heads, n, d)
        )
        z = z_prefix + torch.matmul(pattern[..., p:], vr)
        return z.transpose(1, 2).reshape(b, n, self.n_heads * d)


class LeanDecoder(nn.Module):
    """Embedding, decoder layers and final norm: returns the last hidden states."""

    inv_freq: torch.Tensor  # [d_head // 2] rotary frequencies (a buffer)
    supports_shared_prefix = True  # forward(..., shared_prefix=cache): see `Block._attend_shared`

    def __init__(self, cfg: LeanConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        d = cfg.head_dim
        inv_freq = 1.0 / (
            cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.int64).to(dtype=torch.float) / d)
        )
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(
        self,
        input_ids: torch.Tensor,  # [batch, pos]
        attention_mask: torch.Tensor | None = None,  # [batch, past + pos], 1 = real token
        past_key_values: LeanCache | None = None,
        use_cache: bool = False,
        shared_prefix: LeanCache | None = None,
        **_: Any,
    ) -> LeanOutput:
        """Last hidden states `[batch, pos, d_model]`.

        ``shared_prefix``: a batch-1 cache of a prefix that every row continues; the rows attend
        to it without copying it (see `Block._attend_shared`) and it is not modified. The mask
        then covers ``[batch, prefix + pos]``. Excludes ``past_key_values``.
        """
        b, n = input_ids.shape
        if shared_prefix is not None:
            if past_key_values is not None or use_cache:
                raise ValueError("shared_prefix excludes past_key_values and use_cache")
            past = shared_prefix.get_seq_length()
            cache = None
        else:
            cache = (
                past_key_values
                if past_key_values is not None
                else (LeanCache(len(self.layers)) if use_cache else None)
            )
            past = cache.get_seq_length() if cache is not None else 0
        x = self.embed_tokens(input_ids)
        pos = torch.arange(past, past + n, device=input_ids.device)
        freqs = (
            self.inv_freq[None, :, None].float().expand(b, -1, 1) @ pos[None, None, :].float().expand(b, 1, n)
        ).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)  # [batch, pos, d_head]
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        k_total = past + n
        allowed = torch.arange(k_total, device=x.device)[None, :] <= pos[:, None]  # [q_pos, k_pos] causal
        allowed = allowed[None, None].expand(b, 1, n, k_total)
        if attention_mask is not None:
            allowed = allowed & attention_mask[:, None, None, :k_total].bool()
        mask = torch.zeros((b, 1, n, k_total), dtype=x.dtype, device=x.device)
        mask = mask.masked_fill(~allowed, torch.finfo(x.dtype).min)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, cache, i, shared_prefix)
        return LeanOutput(last_hidden_state=self.norm(x), past_key_values=cache)


class LeanLlama(nn.Module):
    """`LlamaForCausalLM`'s inference forward (eager attention), without ``transformers``."""

    def __init__(self, cfg: LeanConfig) -> None:
        super().__init__()
        self.config = cfg
        self.model = LeanDecoder(cfg)
        self.lm_head = Linear(cfg.hidden_size, cfg.vocab_size)

    def get_decoder(self) -> LeanDecoder:
        return self.model

    def get_output_embeddings(self) -> Linear:
        return self.lm_head

    def new_cache(self) -> LeanCache:
        return LeanCache(self.config.num_hidden_layers)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_key_values: LeanCache | None = None,
        use_cache: bool = False,
        **_: Any,
    ) -> LeanOutput:
        out = self.model(input_ids, attention_mask, past_key_values, use_cache)
        assert out.last_hidden_state is not None
        out.logits = self.lm_head(out.last_hidden_state)
        return out


_RENAME = {
    "self_attn.q_proj": "q_proj",
    "self_attn.k_proj": "k_proj",
    "self_attn.v_proj": "v_proj",
    "self_attn.o_proj": "o_proj",
    "mlp.gate_proj": "gate_proj",
    "mlp.up_proj": "up_proj",
    "mlp.down_proj": "down_proj",
}


def load_lean_llama(model_dir: Path, device: str = "cpu") -> LeanLlama:
    """Builds a `LeanLlama` from ``config.json`` + ``model.safetensors`` (fp32, eval mode).

    Raises:
        ValueError: when the checkpoint is not a plain Llama (see `lean_supported`) or a weight
            is missing or misshapen.
    """
    from safetensors.torch import load_file

    if not lean_supported(model_dir):
        raise ValueError(f"{model_dir} is not a checkpoint the lean Llama path can run.")
    cfg = LeanConfig(json.loads((model_dir / "config.json").read_text()))
    model = LeanLlama(cfg)  # uninitialised storage (torch.empty); every tensor is assigned below
    state = load_file(str(model_dir / "model.safetensors"), device="cpu")
    mapped: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        name = key
        for old, new in _RENAME.items():
            name = name.replace(f".{old}.", f".{new}.")
        mapped[name] = tensor.to(torch.float32)
    if "lm_head.weight" not in mapped:
        if not cfg.tie_word_embeddings:
            raise ValueError("The checkpoint has no lm_head.weight and does not tie it to the embeddings.")
        mapped["lm_head.weight"] = mapped["model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(mapped, strict=False, assign=True)
    if missing or unexpected:
        raise ValueError(
            f"Weights do not match the Llama layout: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    return model
