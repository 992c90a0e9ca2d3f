"""Train the retrieval embedder: ``python -m embedder.train`` (the spec's command).

A byte-level bag-of-n-grams encoder trained contrastively (in-batch negatives) on neighbouring
sentences of the ``retrieval-corpus`` text files; DDP over the run's processes; checkpoint every
epoch; ``model.safetensors`` + ``config.json`` in the model folder. Hyperparameters: ``epochs``,
``batch_size``, ``learning_rate``, ``max_steps``.
"""

from __future__ import annotations

import json
import zlib
from itertools import pairwise
from pathlib import Path

import torch
from mlops_entry import Contract, checkpoints, distributed
from safetensors.torch import save_file

BUCKETS, DIM = 4096, 64


def ngrams(text: str) -> torch.Tensor:
    data = text.lower().encode()
    ids = [zlib.crc32(data[i:i + 3]) % BUCKETS for i in range(max(1, len(data) - 2))]
    return torch.tensor(ids)


class Embedder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = torch.nn.EmbeddingBag(BUCKETS, DIM, mode="mean")
        self.proj = torch.nn.Linear(DIM, DIM)

    def forward(self, texts: list[str]) -> torch.Tensor:
        ids = [ngrams(t) for t in texts]
        offsets = torch.tensor([0, *torch.cumsum(torch.tensor([len(i) for i in ids]), 0)[:-1].tolist()])
        return torch.nn.functional.normalize(self.proj(self.table(torch.cat(ids), offsets)), dim=-1)


def pairs(folder: Path) -> list[tuple[str, str]]:
    sentences = [s.strip() for p in sorted(folder.rglob("*.txt")) for s in p.read_text().split(".") if s.strip()]
    if len(sentences) < 2:
        raise SystemExit(f"no retrieval corpus (*.txt with sentences) under {folder}")
    return list(pairwise(sentences))


def main() -> None:
    contract = Contract.from_environment()
    hp = contract.hyperparameters
    distributed.setup(contract)
    model = Embedder()
    resumed = checkpoints.load(contract.checkpoint_dir)
    if resumed:
        model.load_state_dict(resumed["model"])
    model = distributed.wrap(model, contract)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(hp.get("learning_rate", 1e-3)))
    data = pairs(contract.local_input("retrieval-corpus"))[contract.rank::contract.world_size]
    step, max_steps, batch = (resumed["step"] if resumed else 0), int(hp.get("max_steps", 0)), int(hp.get("batch_size", 256))
    for _epoch in range(int(hp.get("epochs", 1))):
        for start in range(0, len(data), batch):
            if max_steps and step >= max_steps:
                break
            chunk = data[start:start + batch]
            a, b = model([x for x, _ in chunk]), model([y for _, y in chunk])
            loss = torch.nn.functional.cross_entropy(a @ b.T / 0.05, torch.arange(len(chunk)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        weights = distributed.full_state_dict(model)  # every rank takes part (collective under FSDP)
        if contract.is_main:
            checkpoints.save(contract.checkpoint_dir, {"model": weights, "step": step})
    weights = distributed.full_state_dict(model)
    if contract.is_main:
        contract.model_dir.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in weights.items()}, str(contract.model_dir / "model.safetensors"))
        (contract.model_dir / "config.json").write_text(json.dumps({"buckets": BUCKETS, "dim": DIM, "steps": step}))
    distributed.finish()


if __name__ == "__main__":
    main()
