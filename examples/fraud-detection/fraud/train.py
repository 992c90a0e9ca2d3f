"""Train the fraud model: ``python -m fraud.train`` (the reference's ``command``), on SageMaker or Kubernetes.

Reads ``transactions`` (CSV files with the data contract's columns), trains with DDP (or FSDP when
the job's ``sharding`` is fsdp) over the run's processes, checkpoints every epoch (resumes from the
last one: spot interruptions), and writes ``model.safetensors`` + ``config.json`` to the model
folder; on Kubernetes it then registers the model (``<MLOPS_MODEL_URI_PREFIX><version>/`` and an
MLflow version). Hyperparameters: ``epochs``, ``learning_rate``, ``batch_size``, ``max_steps`` (a total across resumes).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from mlops_entry import Contract, checkpoints, distributed
from safetensors.torch import save_file

from fraud.model import FraudModel, features


def read_rows(folder: Path) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    if not rows:
        raise SystemExit(f"no transactions (*.csv) under {folder}")
    return rows


def main() -> None:
    contract = Contract.from_environment()
    hp = contract.hyperparameters
    device = distributed.setup(contract)
    rows = read_rows(contract.local_input("transactions"))[contract.rank::contract.world_size]
    model = FraudModel().to(device)
    resumed = checkpoints.load(contract.checkpoint_dir)
    if resumed:
        model.load_state_dict(resumed["model"])
    model = distributed.wrap(model, contract)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(hp.get("learning_rate", 0.001)))
    step = resumed["step"] if resumed else 0
    max_steps, batch_size = int(hp.get("max_steps", 0)), int(hp.get("batch_size", 256))
    done = lambda: bool(max_steps) and step >= max_steps  # noqa: E731 - the total budget, across resumes
    loss = torch.tensor(float("nan"))
    labels = torch.tensor([1.0 if str(r["is_fraud"]).lower() in ("1", "true") else 0.0 for r in rows])
    inputs = features(rows)
    for _epoch in range(int(hp.get("epochs", 1))):
        if done():
            break
        for start in range(0, len(rows), batch_size):
            if done():
                break
            batch = [t[start:start + batch_size].to(device) for t in inputs]
            with distributed.autocast(contract, device):
                logits = model(*batch)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels[start:start + batch_size].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        weights = distributed.full_state_dict(model)
        if contract.is_main:
            checkpoints.save(contract.checkpoint_dir, {"model": weights, "step": step})
    weights = distributed.full_state_dict(model)
    if contract.is_main:
        write_model(contract.model_dir, weights, step, float(loss))
        if contract.target == "kubernetes" and contract.registers:
            from mlops_entry.objects import register

            version = register(contract.model_dir, contract.registers, contract.model_uri_prefix, contract.env)
            print(f"registered {contract.registers} version {version}")
    distributed.finish()


def write_model(folder: Path, weights: dict, step: int, loss: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps({"model": "fraud", "steps": step,
                                                  "final_loss": loss if loss == loss else None}, indent=2))


if __name__ == "__main__":
    main()
