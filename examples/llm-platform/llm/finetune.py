"""Fine-tune the chat model with LoRA: ``torchrun --nproc-per-node=8 -m llm.finetune`` (the spec's command).

torchrun starts one process per GPU and sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (across nodes
from the training operator's ``PET_*`` variables, or on SageMaker from the c10d rendezvous on algo-1
that the compiler writes: ``mlops_infra/compile/container_env.py``); the processes train with DDP,
or FSDP when the job's ``sharding`` (``MLOPS_SHARDING``) is fsdp. Hyperparameters (the spec's): ``base_model`` (a checkpoint
folder with ``config.json`` and ``model.safetensors``: a local path, or a name under the folder of
the ``MLOPS_BASE_MODELS`` variable), ``epochs``, ``learning_rate``, ``lora_rank``, ``max_seq_len``,
``max_steps``. Data: ``instruction-data`` JSONL lines ``{"prompt": ..., "response": ...}``, bytes
as tokens (a byte-level vocabulary of 256). Writes the merged model (``model.safetensors`` +
``config.json``) to the model folder and checkpoints the adapters every epoch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from mlops_entry import Contract, checkpoints, distributed
from safetensors.torch import save_file

from llm.model import DecoderLM, LoRALinear, load


def examples(folder: Path, max_len: int) -> list[torch.Tensor]:
    rows = []
    for path in sorted(folder.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                rows.append(torch.tensor(list(f"{item['prompt']}\n{item['response']}".encode()[:max_len])))
    if not rows:
        raise SystemExit(f"no instruction data (*.jsonl) under {folder}")
    return rows


def base_folder(name: str) -> Path:
    path = Path(name)
    return path if path.is_dir() else Path(os.environ.get("MLOPS_BASE_MODELS", "/opt/ml/input/data/base-models")) / name


def merged(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Fold each adapter into its base weight: a plain model again, servable without LoRA code."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            weight = module.base.weight + (module.b @ module.a) * module.scale
            out[f"{name}.weight"], out[f"{name}.bias"] = weight.detach(), module.base.bias.detach()
    for name, tensor in model.state_dict().items():
        if ".base." not in name and not name.endswith((".a", ".b")) and name not in out and name != "head.weight":
            out[name] = tensor.detach()
    return {k: v.float().contiguous() for k, v in out.items()}


def main() -> None:
    contract = Contract.from_environment()  # under torchrun: this process's rank and world (mlops_entry.contract)
    hp = contract.hyperparameters
    device = distributed.setup(contract)
    model, config = load(base_folder(str(hp["base_model"])))
    model.add_lora(int(hp.get("lora_rank", 16)))
    resumed = checkpoints.load(contract.checkpoint_dir)
    if resumed:
        model.load_state_dict(resumed["adapters"], strict=False)
    model = distributed.wrap(model.to(device), contract)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=float(hp.get("learning_rate", 2e-5)))
    data = examples(contract.local_input("instruction-data"), min(int(hp.get("max_seq_len", 4096)),
                                                                   config["max_position_embeddings"]))
    data = data[contract.rank::contract.world_size] or data[:1]
    step, max_steps = (resumed["step"] if resumed else 0), int(hp.get("max_steps", 0))
    for _epoch in range(int(hp.get("epochs", 1))):
        for tokens in data:
            if max_steps and step >= max_steps:
                break
            tokens = tokens.unsqueeze(0).to(device)
            with distributed.autocast(contract, device):
                logits = model(tokens[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        state = distributed.full_state_dict(model)
        if contract.is_main:
            adapters = {k: v for k, v in state.items() if k.endswith((".a", ".b"))}
            checkpoints.save(contract.checkpoint_dir, {"adapters": adapters, "step": step})
    state = distributed.full_state_dict(model)  # gathered from FSDP shards on every rank
    if contract.is_main:
        plain = DecoderLM(config)
        plain.add_lora(int(hp.get("lora_rank", 16)))
        plain.load_state_dict(state)
        contract.model_dir.mkdir(parents=True, exist_ok=True)
        save_file(merged(plain), str(contract.model_dir / "model.safetensors"), metadata={"format": "pt"})
        (contract.model_dir / "config.json").write_text(json.dumps({**config, "fine_tuned_steps": step}, indent=2))
        if contract.target == "kubernetes" and contract.registers:
            from mlops_entry.objects import register

            print(f"registered {contract.registers} version "
                  f"{register(contract.model_dir, contract.registers, contract.model_uri_prefix, contract.env)}")
    distributed.finish()


if __name__ == "__main__":
    main()
