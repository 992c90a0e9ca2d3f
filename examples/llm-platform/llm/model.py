"""A decoder-only transformer read from a checkpoint folder (``config.json`` + ``model.safetensors``),
with LoRA adapters (Hu et al. 2021) on its attention and MLP projections.

The config uses Hugging Face's names (``num_hidden_layers``, ``hidden_size``, ``num_attention_heads``,
``vocab_size``, ``max_position_embeddings``), the same keys mlops-infra reads to size the model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors.torch import load_file


class LoRALinear(torch.nn.Module):
    """``W x + (B A x) * alpha / r`` with W frozen, A and B trained (B starts at zero)."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float = 16.0) -> None:
        super().__init__()
        self.base = base
        self.base.requires_grad_(False)
        self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale


class Block(torch.nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = torch.nn.LayerNorm(hidden), torch.nn.LayerNorm(hidden)
        self.qkv = torch.nn.Linear(hidden, 3 * hidden)
        self.out = torch.nn.Linear(hidden, hidden)
        self.up, self.down = torch.nn.Linear(hidden, 4 * hidden), torch.nn.Linear(4 * hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, s, 3, self.heads, h // self.heads).unbind(2)
        attn = torch.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                                is_causal=True)  # fused: no s x s scores kept
        x = x + self.out(attn.transpose(1, 2).reshape(b, s, h))
        return x + self.down(torch.nn.functional.gelu(self.up(self.norm2(x))))


class DecoderLM(torch.nn.Module):
    def __init__(self, config: dict) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        self.embed = torch.nn.Embedding(config["vocab_size"], hidden)
        self.position = torch.nn.Embedding(config["max_position_embeddings"], hidden)
        self.blocks = torch.nn.ModuleList(Block(hidden, config["num_attention_heads"])
                                          for _ in range(config["num_hidden_layers"]))
        self.norm = torch.nn.LayerNorm(hidden)
        self.head = torch.nn.Linear(hidden, config["vocab_size"], bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens) + self.position(torch.arange(tokens.shape[1], device=tokens.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    def add_lora(self, rank: int) -> None:
        """Freeze everything, then adapt every block's projections with rank-``rank`` LoRA."""
        self.requires_grad_(False)
        for block in self.blocks:
            for name in ("qkv", "out", "up", "down"):
                setattr(block, name, LoRALinear(getattr(block, name), rank))


def load(folder: Path) -> tuple[DecoderLM, dict]:
    config = json.loads((folder / "config.json").read_text())
    model = DecoderLM(config)
    weights = load_file(str(folder / "model.safetensors"))
    if "head.weight" not in weights:
        weights["head.weight"] = weights["embed.weight"]  # tied weights are stored once
    model.load_state_dict(weights)
    return model, config
