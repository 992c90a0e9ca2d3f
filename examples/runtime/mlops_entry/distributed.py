"""DDP or FSDP over the run's processes, from the contract (gloo on CPU, nccl on GPUs)."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def setup(contract) -> torch.device:
    """Join the process group when the run has more than one process (or sharding asks for it)."""
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else torch.device("cpu")
    if contract.world_size > 1 or contract.sharding != "none":
        host, port = contract.master
        os.environ.setdefault("MASTER_ADDR", host)
        os.environ.setdefault("MASTER_PORT", str(port))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=contract.rank,
                                world_size=contract.world_size)
    return device


def wrap(model: torch.nn.Module, contract) -> torch.nn.Module:
    """FSDP (``fully_shard``) for sharding fsdp/zero3, DDP for more than one process, else as is."""
    if not dist.is_initialized():
        return model
    if contract.sharding in ("fsdp", "zero3"):
        from torch.distributed.fsdp import fully_shard

        fully_shard(model)
        return model
    return torch.nn.parallel.DistributedDataParallel(model)


def full_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The whole model's weights on CPU (gathered from FSDP shards), on every rank."""
    if dist.is_initialized():
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def finish() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def autocast(contract, device: torch.device):
    """Mixed precision as the spec's ``precision`` says (bf16 autocast on CPU and GPU)."""
    enabled = contract.precision in ("mixed_bf16", "mixed_fp16")
    dtype = torch.float16 if contract.precision == "mixed_fp16" and device.type == "cuda" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype, enabled=enabled)
