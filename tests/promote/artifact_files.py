"""The artifact digest of test files as the training runtime computes it (``examples/runtime/mlops_entry/objects.py``
``artifact_digest``: the digest MLflow versions are tagged with), so tests register real digests, computed by
code other than the promotion's; and the archives tests promote (:func:`tar`)."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import tempfile
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "examples" / "runtime" / "mlops_entry" / "objects.py"


def runtime_digest(folder: Path) -> str:
    """The training runtime's own ``artifact_digest`` of ``folder``."""
    spec = importlib.util.spec_from_file_location("mlops_entry_objects", RUNTIME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.artifact_digest(folder)


def digest_of(files: dict[str, bytes]) -> str:
    """The runtime's digest of a folder holding ``files`` (relative path -> bytes)."""
    with tempfile.TemporaryDirectory() as folder:
        for name, data in files.items():
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).write_bytes(data)
        return runtime_digest(Path(folder))


def tar(files: dict[str, bytes], mode: str) -> bytes:
    """A tar archive (``mode``: ``"w"``, ``"w:gz"``, ...) holding ``files`` (member name -> bytes), as bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
