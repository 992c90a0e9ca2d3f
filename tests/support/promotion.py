"""Promotion test inputs: the reference document copied into a folder, and saved registry reads.

The reference pins fraud-model v14 in dev (Kubernetes, MLflow) and v13 in staging (AWS 111111111111,
us-east-1). :func:`reference_registries` writes saved reads (``RegistryView.to_json``) in which dev's
v14 holds :data:`DIGEST_V14` and staging's registry holds dev's v12 and v13 artifacts as its v1 and
v2, so promoting dev's v14 maps to staging's next number, v3 (or to ``staging_has_v14`` when given).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "reference-mlsystem.yaml"
DIGEST_V12 = "sha256:" + "12" * 32
DIGEST_V13 = "sha256:" + "13" * 32
DIGEST_V14 = "sha256:" + "14" * 32


def copy_reference(folder: Path, name: str = "mlsystem.yaml") -> Path:
    target = folder / name
    shutil.copyfile(REFERENCE, target)
    return target


def registry(model: str, where: str, versions: dict[int, str | None], approval: str = "Approved") -> ModelRegistry:
    """A registry read holding ``versions`` (number -> digest)."""
    return ModelRegistry(model, where, "registry", True,
                         {v: VersionRecord(v, approval, "Completed", digest=d) for v, d in versions.items()})


def dev_view() -> RegistryView:
    return RegistryView({"fraud-model": registry("fraud-model", "MLflow registered model fraud-model at http://mlflow",
                                                 {12: DIGEST_V12, 13: DIGEST_V13, 14: DIGEST_V14})})


def staging_view(staging_has_v14: int | None = None, approval: str = "Approved") -> RegistryView:
    versions: dict[int, str | None] = {1: DIGEST_V12, 2: DIGEST_V13}
    if staging_has_v14 is not None:
        versions[staging_has_v14] = DIGEST_V14
    where = "group fraud-detection-staging-fraud-model (111111111111/us-east-1)"
    return RegistryView({"fraud-model": registry("fraud-model", where, versions, approval)})


def write_view(path: Path, view: RegistryView) -> Path:
    path.write_text(json.dumps(view.to_json()), encoding="utf-8")
    return path


def reference_registries(folder: Path, staging_has_v14: int | None = None) -> list[str]:
    """``--registry`` arguments for dev and staging (saved reads written into ``folder``)."""
    dev = write_view(folder / "registry-dev.json", dev_view())
    staging = write_view(folder / "registry-staging.json", staging_view(staging_has_v14))
    return ["--registry", f"dev={dev}", "--registry", f"staging={staging}"]
