"""Read a model's size from its checkpoint without loading its weights or running its code.

Formats (told apart by their first bytes and, for zip archives, their members):
- **safetensors** (``.safetensors``; a folder of shards or a ``.safetensors.index.json``): the
  header only, through the ``safetensors`` library (``safe_open``: an 8-byte length, a JSON table
  of names, dtypes, shapes and offsets, checked against the file's size; the tensors are never read).
- **PyTorch checkpoint** (``torch.save`` zip archive, ``.pt``/``.pth``/``.bin``): ``torch.load`` with
  ``weights_only=True`` (its unpickler only rebuilds tensors and plain containers: a pickle that
  names any other callable is refused, so no code runs) and ``mmap=True`` (storages are mapped,
  not read). Needs torch (the ``torch`` extra).
- **TorchScript archive** (``torch.jit.save``): never ``torch.jit.load`` (that loads the archive's
  code). Its ``data.pkl`` is walked by :class:`_RecordingUnpickler`, whose ``find_class`` returns
  inert placeholders and never imports anything, to list the storages (dtype from the storage
  class name, bytes from the archive member's size).
- **torch.export archive** (``torch.export.save``, ``.pt2``): the JSON weights table
  (``data/weights/model_weights_config.json``: dtype, sizes, ``is_param``); no pickle is read.
  Needs torch for its dtype enumeration.

Architecture facts (layers, heads, hidden size) come from a Hugging Face ``config.json`` beside
the file (or in the folder), when there is one.

Contract: :func:`read_checkpoint` returns a :class:`~mlops_infra.ml.size.ModelSize` or raises
:class:`CheckpointError` whose message names the file, says what is wrong and how to fix it in
one or two sentences (a corrupt or truncated file, pickled code, an unknown format, torch
missing). Shared storages (tied weights) are counted once.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlops_infra.ml.dtypes import bytes_per_element, canonical
from mlops_infra.ml.size import Architecture, ModelSize

TORCH_HINT = "install torch to read it: pip install 'mlops-infra[torch]'"
CONFIG_FILE = "config.json"
SAFETENSORS_INDEX = ".safetensors.index.json"
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_PICKLE_BYTES = 64 * 1024 * 1024
_MAX_CONFIG_BYTES = 4 * 1024 * 1024


class CheckpointError(Exception):
    """A checkpoint that cannot be sized; the message says why and how to fix it."""


TensorFacts = tuple[str, int, int]
"""(canonical dtype, elements, bytes) of one tensor or storage."""


def read_checkpoint(path: Path) -> ModelSize:
    """The size of the model in ``path`` (a file or a model folder); see the module contract."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or folder; give the path of a checkpoint (relative "
                              "to the spec file) or an s3:// URI")
    tensors = list(_folder(path) if path.is_dir() else _file(path))
    if not tensors:
        raise CheckpointError(f"{path}: holds no tensors; point artifact at the model's weights")
    config = _config_beside(path)
    return _size(tensors, _architecture(config) if config else None, str(path))


def as_served(size: ModelSize, dtype: str | None, architecture: Architecture | None, source: str) -> ModelSize:
    """``size`` as the spec serves it: in ``dtype`` when given (a cast), with the spec's
    ``architecture`` when given (it wins over the file's), and ``source`` as the spec wrote it."""
    out = replace(size, source=source)
    if architecture is not None:
        out = replace(out, architecture=architecture)
    if dtype is not None and dtype != size.dtype:
        weight = round(size.parameters * bytes_per_element(dtype))
        out = replace(out, dtype=dtype, weight_bytes=weight)
    return out


# --- dispatch --------------------------------------------------------------------------------------


def _file(path: Path) -> Iterator[TensorFacts]:
    if path.name.endswith(SAFETENSORS_INDEX):
        yield from _index(path)
        return
    head = _head(path, 8)
    if head.startswith(_ZIP_MAGIC):
        yield from _zip_archive(path)
    elif head[:1] == b"\x80":
        raise CheckpointError(f"{path}: a legacy (non-zip) torch.save file, which cannot be read without loading "
                              "its weights; save it again with torch.save (the zip format, default since "
                              "PyTorch 1.6) or as safetensors")
    elif len(head) == 8 and 0 < struct.unpack("<Q", head)[0] < path.stat().st_size:
        yield from _safetensors(path)
    else:
        raise CheckpointError(f"{path}: not a checkpoint mlops-infra can read (safetensors, torch.save, "
                              "TorchScript or torch.export); it may be truncated or another format")


def _folder(path: Path) -> Iterator[TensorFacts]:
    """A model folder: its safetensors shards, else its torch checkpoints."""
    shards = sorted(path.glob("*.safetensors"))
    if not shards:
        shards = sorted(p for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pt2") and p.is_file())
    if not shards:
        raise CheckpointError(f"{path}: a folder with no .safetensors, .bin, .pt, .pth or .pt2 file; point "
                              "artifact at the model's weights")
    for shard in shards:
        yield from _file(shard)


def _head(path: Path, n: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(n)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None


# --- safetensors -----------------------------------------------------------------------------------


def _safetensors(path: Path) -> Iterator[TensorFacts]:
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:  # pragma: no cover - a core dependency
        raise CheckpointError(f"{path}: reading safetensors needs the safetensors package: "
                              "pip install safetensors") from None
    try:
        with safe_open(str(path), framework="numpy") as handle:
            specs = [(name, handle.get_slice(name)) for name in handle.keys()]  # noqa: SIM118 - not iterable
            found = [(s.get_dtype(), s.get_shape()) for _, s in specs]
    except SafetensorError as exc:
        raise CheckpointError(f"{path}: not a valid safetensors file ({exc}); it may be truncated or "
                              "corrupt: download or save it again") from None
    for dtype_name, shape in found:
        yield _tensor(path, dtype_name, _numel(shape))


def _index(path: Path) -> Iterator[TensorFacts]:
    """A sharded safetensors checkpoint: the shards its ``weight_map`` names."""
    try:
        weight_map = json.loads(path.read_text())["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: not a safetensors index (a JSON object with weight_map): {exc}") from None
    for shard in shards:
        yield from _safetensors(path.parent / shard)


# --- torch archives --------------------------------------------------------------------------------


def _zip_archive(path: Path) -> Iterator[TensorFacts]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            kind = _archive_kind(names)
            if kind == "torchscript":
                yield from _torchscript(path, archive, names)
                return
            if kind == "export":
                yield from _exported(path, archive, names)
                return
    except (zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{path}: a damaged zip archive ({exc}); it may be truncated: save or "
                              "download it again") from None
    yield from _torch_save(path)


def _archive_kind(names: list[str]) -> str:
    if any(n.split("/", 1)[-1] == "data/weights/model_weights_config.json" for n in names):
        return "export"
    if any("/code/" in n for n in names) and any(n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    return "torch.save"


def _import_torch(path: Path) -> Any:
    try:
        import torch
    except ImportError:
        raise CheckpointError(f"{path}: a PyTorch archive; {TORCH_HINT}") from None
    return torch


def _torch_save(path: Path) -> Iterator[TensorFacts]:
    """``torch.load(mmap=True, weights_only=True)``: tensors rebuilt over mapped storages, no code run."""
    torch = _import_torch(path)
    try:
        loaded = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused by the weights-only unpickler"
        raise CheckpointError(f"{path}: refused: the checkpoint pickles code or objects other than tensors "
                              f"({first[:200]}); nothing was run. Save only the state_dict (torch.save("
                              "model.state_dict(), ...)) or use safetensors") from None
    except (RuntimeError, OSError, EOFError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: cannot be read as a torch.save checkpoint ({str(exc).splitlines()[0][:200]}); "
                              "it may be truncated or corrupt: save or download it again") from None
    seen: set[tuple[int, int]] = set()
    for tensor in _tensors(torch, _weights_of(loaded)):
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if key in seen:
            continue  # tied weights share one storage
        seen.add(key)
        dtype = canonical(str(tensor.dtype))
        if dtype is None:
            raise CheckpointError(f"{path}: a tensor of dtype {tensor.dtype} mlops-infra does not know")
        elements = storage.nbytes() // max(1, tensor.element_size())
        yield dtype, elements, storage.nbytes()


_STATE_KEYS = ("state_dict", "model_state_dict", "model")


def _weights_of(loaded: Any) -> Any:
    """The model's weights in a training checkpoint ({"model": ..., "optimizer": ...}), else all of it."""
    if isinstance(loaded, dict):
        for key in _STATE_KEYS:
            if isinstance(loaded.get(key), dict):
                return loaded[key]
    return loaded


def _tensors(torch: Any, value: Any) -> Iterator[Any]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(torch, item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors(torch, item)


class _Inert:
    """What :class:`_RecordingUnpickler` builds instead of any class or callable: accepts
    everything, does nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __call__(self, *args: Any, **kwargs: Any) -> _Inert:
        return _Inert(*args)

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass


class _StorageClass(_Inert):
    """The placeholder of ``torch.<X>Storage``: remembers the dtype its name says."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


_STORAGE_DTYPES = {"DoubleStorage": "fp64", "FloatStorage": "fp32", "HalfStorage": "fp16", "BFloat16Storage": "bf16",
                   "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
                   "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
                   "ComplexDoubleStorage": "complex128", "Float8_e4m3fnStorage": "fp8", "Float8_e5m2Storage": "fp8"}


class _RecordingUnpickler(pickle.Unpickler):
    """Walks a TorchScript ``data.pkl`` and records its storages; never imports or calls real code.

    ``find_class`` returns :class:`_Inert` placeholders (storage classes get :class:`_StorageClass`),
    so REDUCE/BUILD/NEWOBJ only ever call placeholders; ``persistent_load`` records each storage
    reference ``('storage', storage class, key, location, numel)``.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.storages: dict[str, str] = {}

    def find_class(self, module: str, name: str) -> Any:
        return _StorageClass(name) if module == "torch" and name.endswith("Storage") else _Inert

    def persistent_load(self, pid: Any) -> Any:
        if isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage":
            kind = pid[1].name if isinstance(pid[1], _StorageClass) else "?"
            self.storages[str(pid[2])] = kind
        return _Inert()


def _torchscript(path: Path, archive: zipfile.ZipFile, names: list[str]) -> Iterator[TensorFacts]:
    prefix = next(n for n in names if n.endswith("/constants.pkl")).rsplit("/", 1)[0]
    sizes = {n[len(prefix) + 6:]: archive.getinfo(n).file_size for n in names if n.startswith(f"{prefix}/data/")}
    for member in (f"{prefix}/data.pkl", f"{prefix}/constants.pkl"):
        info = archive.getinfo(member)
        if info.file_size > _MAX_PICKLE_BYTES:
            raise CheckpointError(f"{path}: {member} is {info.file_size} bytes, too large to be a module table")
        unpickler = _RecordingUnpickler(archive.read(member))
        try:
            unpickler.load()
        except Exception as exc:  # any malformed pickle: nothing real was ever called
            raise CheckpointError(f"{path}: {member} is not a readable TorchScript table ({type(exc).__name__}); "
                                  "the archive may be corrupt: save it again with torch.jit.save") from None
        for key, kind in sorted(unpickler.storages.items()):
            dtype = _STORAGE_DTYPES.get(kind)
            if dtype is None or key not in sizes:
                raise CheckpointError(f"{path}: storage {key} ({kind}) cannot be sized; the archive may be corrupt")
            nbytes = sizes.pop(key)
            yield dtype, int(nbytes // bytes_per_element(dtype)), nbytes


def _exported(path: Path, archive: zipfile.ZipFile, names: list[str]) -> Iterator[TensorFacts]:
    """A ``torch.export`` archive: its JSON weights table (parameters only, not buffers)."""
    torch = _import_torch(path)
    from torch._export.serde.schema import ScalarType

    member = next(n for n in names if n.endswith("data/weights/model_weights_config.json"))
    try:
        table = json.loads(archive.read(member))["config"]
        seen: set[str] = set()
        for entry in table.values():
            if not entry.get("is_param") or entry["path_name"] in seen:
                continue
            seen.add(entry["path_name"])
            meta = entry["tensor_meta"]
            torch_dtype = _export_dtypes(torch, ScalarType).get(int(meta["dtype"]))
            dtype = canonical(str(torch_dtype)) if torch_dtype is not None else None
            if dtype is None:
                raise CheckpointError(f"{path}: weight {entry['path_name']} has a dtype mlops-infra does not know")
            elements = _numel(int(s["as_int"]) for s in meta["sizes"])
            yield dtype, elements, round(elements * bytes_per_element(dtype))
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: the torch.export weights table cannot be read ({exc}); save it again "
                              "with torch.export.save") from None


def _export_dtypes(torch: Any, scalar_type: Any) -> dict[int, Any]:
    """torch.export's ScalarType number -> torch dtype, by the enum's member names."""
    names = {"BYTE": "uint8", "CHAR": "int8", "SHORT": "int16", "INT": "int32", "LONG": "int64", "HALF": "float16",
             "FLOAT": "float32", "DOUBLE": "float64", "BOOL": "bool", "BFLOAT16": "bfloat16",
             "FLOAT8E4M3FN": "float8_e4m3fn", "FLOAT8E5M2": "float8_e5m2"}
    return {member.value: getattr(torch, names[member.name]) for member in scalar_type if member.name in names}


# --- facts -------------------------------------------------------------------------------------------


def _numel(shape: Iterable[int]) -> int:
    n = 1
    for dim in shape:
        n *= int(dim)
    return n


def _tensor(path: Path, dtype_name: str, elements: int) -> TensorFacts:
    dtype = canonical(dtype_name)
    if dtype is None:
        raise CheckpointError(f"{path}: a tensor of dtype {dtype_name} mlops-infra does not know")
    return dtype, elements, round(elements * bytes_per_element(dtype))


def _size(tensors: list[TensorFacts], architecture: Architecture | None, source: str) -> ModelSize:
    params: Counter[str] = Counter()
    nbytes: Counter[str] = Counter()
    for dtype, elements, size in tensors:
        params[dtype] += elements
        nbytes[dtype] += size
    dominant = max(sorted(nbytes), key=lambda d: nbytes[d])
    return ModelSize(sum(params.values()), sum(nbytes.values()), dominant, tuple(sorted(nbytes.items())),
                     tuple(sorted(params.items())), architecture, source)


def _config_beside(path: Path) -> dict[str, Any] | None:
    config = (path if path.is_dir() else path.parent) / CONFIG_FILE
    try:
        if not config.is_file() or config.stat().st_size > _MAX_CONFIG_BYTES:
            return None
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("text_config"), dict):
        data = {**data, **data["text_config"]}  # multimodal configs keep the language model's shape there
    return data if isinstance(data, dict) else None


_KEYS = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden": ("hidden_size", "n_embd", "d_model", "dim"),
    "heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "kv_heads": ("num_key_value_heads", "n_kv_heads", "num_kv_heads", "multi_query_group_num"),
    "head_dim": ("head_dim",),
}


def _architecture(config: dict[str, Any]) -> Architecture | None:
    """Layers, heads and hidden size from a Hugging Face config.json (None when it lacks them)."""
    def first(kind: str) -> int | None:
        for key in _KEYS[kind]:
            value = config.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None

    layers, hidden, heads = first("layers"), first("hidden"), first("heads")
    if not (layers and hidden and heads):
        return None
    return Architecture.of(layers, hidden, heads, first("kv_heads"), first("head_dim"))


def describe(size: ModelSize) -> str:
    """``124M parameters (fp32 497.8 MB)`` for messages."""
    parts = ", ".join(f"{d} {b / 1e6:.1f} MB" for d, b in size.bytes_by_dtype)
    return f"{size.parameters:,} parameters ({parts})"


