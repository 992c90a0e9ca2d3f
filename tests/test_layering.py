"""Import rules of the package, checked with ``ast`` (no import side effects).

1. Only ``mlops_infra.program`` and ``mlops_infra.apply`` import Pulumi (``pulumi``, ``pulumi_aws``,
   ``pulumi_kubernetes``, ``pulumi_policy``...): validate and plan work without the Pulumi SDKs.
2. Imports point backwards along the data flow: a package may import its own modules and packages
   of a lower layer only (:data:`LAYERS`, lowest first). Every import counts, including imports
   inside functions and under ``TYPE_CHECKING``.
3. The pure core (:data:`PURE`) never talks to a cluster: it imports neither the Kubernetes client
   layer ``mlops_infra.kube`` nor the ``kubernetes`` package. ``kube`` sits above ``compile`` (so spec
   and compile cannot reach it by rank) and below ``state`` (Kubernetes live state uses it); plan and
   render rank above it and are held off by this rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlops_infra"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "catalog", "ml", "secrets"),  # top-level modules (diagnostics, errors, graph), the catalog, ML formulas and readers, the redaction layer
    ("spec",),
    ("compile",),
    ("kube",),
    ("state",),
    ("policy",),
    ("plan",),
    ("render",),
    ("rollout",),
    ("program",),
    ("apply",),
    ("promote",),
    ("cli",),
)
"""Packages of mlops_infra by layer, lowest first ("" = modules directly under mlops_infra/)."""

PULUMI_PACKAGES = ("program", "apply")
PURE = ("", "catalog", "spec", "compile", "policy", "plan", "render")
"""Packages of the pure core: no cluster client (rule 3)."""
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _package_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted module) of every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module_parts = ["mlops_infra", *path.relative_to(PACKAGE).with_suffix("").parts]
    if module_parts[-1] == "__init__":
        module_parts.pop()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_parts[: len(module_parts) - node.level + (path.name == "__init__.py")]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            if target == "mlops_infra":  # from mlops_infra import catalog
                found += [(node.lineno, f"mlops_infra.{alias.name}") for alias in node.names]
    return found


def _internal_package(module: str) -> str | None:
    """The mlops_infra package a module belongs to ("" for top-level modules), None if external."""
    parts = module.split(".")
    if parts[0] != "mlops_infra" or len(parts) == 1:
        return None
    return parts[1] if parts[1] in RANK else ""


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - set(RANK) == set(), "add new packages to LAYERS in tests/test_layering.py"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_program_and_apply_import_pulumi(path: Path):
    if _package_of(path) in PULUMI_PACKAGES:
        return
    offending = [f"line {line}: {module}" for line, module in _imports(path)
                 if module.split(".")[0] == "pulumi" or module.startswith("pulumi_")]
    assert offending == [], f"{path.relative_to(PACKAGE)} imports Pulumi (only {PULUMI_PACKAGES} may)"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_pure_core_imports_no_cluster_client(path: Path):
    if _package_of(path) not in PURE:
        return
    offending = [f"line {line}: {module}" for line, module in _imports(path)
                 if module.split(".")[0] == "kubernetes" or module.split(".")[:2] == ["mlops_infra", "kube"]]
    assert offending == [], f"{path.relative_to(PACKAGE)} imports a cluster client (pure core: {PURE})"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_backwards(path: Path):
    own = _package_of(path)
    offending = []
    for line, module in _imports(path):
        target = _internal_package(module)
        if target is None or target == own:
            continue
        if RANK[target] > RANK[own]:
            offending.append(f"line {line}: {module} ({target or 'top level'} is above {own or 'top level'})")
    assert offending == [], f"{path.relative_to(PACKAGE)} imports a later layer"


def test_the_checker_sees_the_imports_it_checks():
    assert any(module.startswith("mlops_infra.spec.") for _, module in _imports(PACKAGE / "spec" / "__init__.py"))
    program_imports = {module for _, module in _imports(PACKAGE / "program" / "entry.py")}
    assert {"pulumi", "mlops_infra.compile", "mlops_infra.spec"} <= program_imports
    assert _internal_package("mlops_infra.graph") == "" and _internal_package("pulumi_aws") is None
    assert RANK["spec"] < RANK["compile"] < RANK["plan"] < RANK["render"] < RANK["cli"]
    assert RANK["compile"] < RANK["kube"] < RANK["state"]
    assert {module for _, module in _imports(PACKAGE / "kube" / "client.py")} >= {"mlops_infra.kube.config", "mlops_infra.kube.resources"}
