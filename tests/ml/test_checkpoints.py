"""Reading model sizes from real checkpoint files the tests create (tiny models, a few KB to MB).

Every format is written by the library users write it with (safetensors, torch.save, torch.jit.save,
torch.export.save) and read back without loading weights: exact parameter counts and bytes by dtype.
Corrupt, truncated and code-carrying files give a clear error, and a test proves no code ran.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is in the test extra (pip install -e '.[test]')")
from safetensors.torch import save_file  # noqa: E402

from mlops_infra.ml.checkpoints import CheckpointError, read_checkpoint  # noqa: E402


class TinyLM(torch.nn.Module):
    """A two-layer transformer-ish model with tied embeddings: 64 vocab, hidden 32."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(64, 32)
        self.layers = torch.nn.ModuleList(torch.nn.Linear(32, 32) for _ in range(2))
        self.head = torch.nn.Linear(32, 64, bias=False)
        self.head.weight = self.embed.weight  # tied

    def forward(self, x):
        h = self.embed(x)
        for layer in self.layers:
            h = torch.relu(layer(h))
        return self.head(h)


UNIQUE = 64 * 32 + 2 * (32 * 32 + 32)  # the tied head is counted once


def test_safetensors_mixed_dtypes_exact(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save_file({"a": torch.zeros(300, 40, dtype=torch.bfloat16), "b": torch.zeros(77), "c": torch.zeros(5, dtype=torch.int8)},
              str(path))
    size = read_checkpoint(path)
    assert size.parameters == 300 * 40 + 77 + 5
    assert dict(size.bytes_by_dtype) == {"bf16": 24_000, "fp32": 308, "int8": 5}
    assert dict(size.parameters_by_dtype) == {"bf16": 12_000, "fp32": 77, "int8": 5}
    assert size.dtype == "bf16" and size.weight_bytes == 24_313


def test_a_model_folder_with_shards_an_index_and_a_config(tmp_path: Path) -> None:
    save_file({"x": torch.zeros(10, 10, dtype=torch.float16)}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({"y": torch.zeros(20, dtype=torch.float16)}, str(tmp_path / "model-00002-of-00002.safetensors"))
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"x": "model-00001-of-00002.safetensors",
                                                "y": "model-00002-of-00002.safetensors"}}))
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 32, "hidden_size": 4096,
                                                      "num_attention_heads": 32, "num_key_value_heads": 8}))
    for source in (tmp_path, index):
        size = read_checkpoint(source)
        assert (size.parameters, size.weight_bytes, size.dtype) == (120, 240, "fp16")
        arch = size.architecture
        assert (arch.layers, arch.hidden_size, arch.attention_heads, arch.kv_heads, arch.head_dim) == (32, 4096, 32, 8, 128)


def test_torch_save_state_dict_counts_tied_weights_once(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(TinyLM().state_dict(), path)
    size = read_checkpoint(path)
    assert (size.parameters, size.weight_bytes, size.dtype) == (UNIQUE, UNIQUE * 4, "fp32")


def test_a_training_checkpoint_sizes_the_model_not_the_optimizer(tmp_path: Path) -> None:
    model = TinyLM().to(torch.bfloat16)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.tensor([[1, 2]])).sum().backward()
    optimizer.step()
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": 1}, path)
    size = read_checkpoint(path)
    assert (size.parameters, size.weight_bytes, size.dtype) == (UNIQUE, UNIQUE * 2, "bf16")


# torch deprecates writing TorchScript, but users still hold such archives: the test writes one on purpose
@pytest.mark.filterwarnings(r"ignore:`torch\.jit\.(script|save)` is deprecated:DeprecationWarning")
def test_torchscript_archive_is_read_without_loading_its_code(tmp_path: Path) -> None:
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(TinyLM()), str(path))
    size = read_checkpoint(path)
    assert (size.parameters, size.weight_bytes) == (UNIQUE, UNIQUE * 4)


def test_torch_export_archive(tmp_path: Path) -> None:
    path = tmp_path / "exported.pt2"
    torch.export.save(torch.export.export(TinyLM(), (torch.tensor([[1, 2, 3]]),)), str(path))
    size = read_checkpoint(path)
    assert (size.parameters, size.weight_bytes) == (UNIQUE, UNIQUE * 4)


class _Payload:
    """Pickles as a call to os.system that would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_that_pickles_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(3), "hook": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match="refused: the checkpoint pickles code") as caught:
        read_checkpoint(path)
    assert str(path) in str(caught.value) and "safetensors" in str(caught.value)
    assert not marker.exists()


def test_a_torchscript_archive_with_a_code_pickle_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil-script.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps(_Payload(marker)))
        archive.writestr("evil/constants.pkl", pickle.dumps(_Payload(marker)))
        archive.writestr("evil/code/__torch__/m.py", "x = 1\n")
    with pytest.raises(CheckpointError, match="holds no tensors"):
        read_checkpoint(path)
    assert not marker.exists()


def test_a_legacy_pickle_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "legacy.bin"
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(CheckpointError, match="legacy"):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("keep", [100, 0.5])
def test_truncated_safetensors_is_a_clear_error(tmp_path: Path, keep: float) -> None:
    full = tmp_path / "full.safetensors"
    save_file({"w": torch.zeros(1000)}, str(full))
    data = full.read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[: int(keep) if keep > 1 else int(len(data) * keep)])
    with pytest.raises(CheckpointError, match=r"truncated|corrupt|not a checkpoint"):
        read_checkpoint(path)


def test_truncated_torch_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    full = tmp_path / "full.pt"
    torch.save({"w": torch.zeros(1000)}, full)
    path = tmp_path / "cut.pt"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"truncated") as caught:
        read_checkpoint(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a model\n")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        read_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such file"):
        read_checkpoint(tmp_path / "missing.safetensors")


def test_without_torch_a_torch_checkpoint_gets_a_one_line_hint(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(4)}, path)
    safe = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(4)}, str(safe))
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from pathlib import Path\n"
        "from mlops_infra.ml.checkpoints import CheckpointError, read_checkpoint\n"
        f"print(read_checkpoint(Path({str(safe)!r})).parameters)\n"
        f"try:\n    read_checkpoint(Path({str(path)!r}))\nexcept CheckpointError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["4", f"{path}: a PyTorch archive; install torch to read it: pip install 'mlops-infra[torch]'"]
