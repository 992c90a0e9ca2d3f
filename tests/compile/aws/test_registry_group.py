"""The model package group is never replaced by an ordinary edit, and never deleted silently (audit replace-1)."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws.registry import GROUP
from mlops_infra.spec import load_system

REPO = Path(__file__).resolve().parents[3]


def test_every_model_package_group_is_protected_and_keeps_its_description() -> None:
    loaded = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "prod")
    assert loaded.ok, loaded.diagnostics
    groups = [r for r in compile_system(loaded.system, "prod").resources if r.type == GROUP]
    assert groups
    for group in groups:
        assert group.options.protect
        assert group.options.ignore_changes == ("modelPackageGroupDescription",)
