"""A small fraud classifier over the ``transactions`` contract (amount, merchant_id, country -> is_fraud)."""

from __future__ import annotations

import math
import zlib

import torch

MERCHANT_BUCKETS = 64
COUNTRY_BUCKETS = 16


def bucket(text: str, buckets: int) -> int:
    return zlib.crc32(text.encode()) % buckets  # stable across processes (unlike hash())


def features(rows: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    amount = torch.tensor([[math.log1p(max(0.0, float(r["amount"])))] for r in rows], dtype=torch.float32)
    merchant = torch.tensor([bucket(str(r["merchant_id"]), MERCHANT_BUCKETS) for r in rows])
    country = torch.tensor([bucket(str(r["country"]), COUNTRY_BUCKETS) for r in rows])
    return amount, merchant, country


class FraudModel(torch.nn.Module):
    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.merchant = torch.nn.Embedding(MERCHANT_BUCKETS, 8)
        self.country = torch.nn.Embedding(COUNTRY_BUCKETS, 4)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(1 + 8 + 4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def forward(self, amount: torch.Tensor, merchant: torch.Tensor, country: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([amount, self.merchant(merchant), self.country(country)], dim=-1)).squeeze(-1)
