"""SageMaker framework container images (Deep Learning Containers), from the SageMaker SDK's own data.

The SageMaker Python SDK ships, per framework, a JSON table of the images AWS publishes: for each
scope (training, inference), version (and short aliases: ``2.5`` -> ``2.5.1``), processor (cpu,
gpu), Python version, repository and the registry account of every region
(``sagemaker/core/image_uri_config/<framework>.json`` in sagemaker-core, the v3 SDK; the v2 SDK
keeps it at ``sagemaker/image_uri_config``). ``sagemaker.core.image_uris.retrieve`` builds
``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`` from it, offline.

The SDK is heavy (sagemaker-core pulls pandas and scipy, ~420 MB), and validate and plan never
need a heavy extra. So this package carries a copy of the four tables it reads, unchanged, in
``image_tables/`` (:data:`TABLES`; Apache-2.0, source and version in ``image_tables/SOURCE.md``),
and every machine resolves the same URIs whether or not the SDK is installed. The copy is the one
sagemaker-core release that ``constraints.txt`` pins: tests/ml/test_images.py fails when the
installed SDK's tables differ from it (refresh: ``.ci/update-image-tables``) and checks every
answer against ``retrieve`` itself.

This module builds the URI by the same rules as ``retrieve`` for the frameworks the spec names
(pytorch, tensorflow, sklearn, xgboost): tag ``<tag_prefix or version>-<processor>-<py_version>[-<container
version>]``, the newest Python version when several exist, cpu or gpu from the instance family as
``retrieve``'s ``_processor`` decides.

Contract: :func:`resolve` returns the URI or raises :class:`ImageError` whose ``choices`` are the
versions that do exist for that framework, scope and region (for "did you mean").
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

Scope = Literal["training", "inference"]
FRAMEWORKS = ("pytorch", "tensorflow", "sklearn", "xgboost")
"""Frameworks whose images the spec may name by framework + framework_version."""

TABLES = Path(__file__).with_name("image_tables")
"""The copy of the SDK's tables this module reads (``<framework>.json`` for each of :data:`FRAMEWORKS`)."""
SDK_LOCATIONS = (("sagemaker-core", "sagemaker/core/image_uri_config"), ("sagemaker", "sagemaker/image_uri_config"))
"""Where an installed SDK keeps its tables (distribution, folder): read only by the refresh script and
the test that keeps :data:`TABLES` equal to them, never by :func:`resolve`."""


class ImageError(Exception):
    """No image for what was asked; ``choices`` are versions that exist (may be empty)."""

    def __init__(self, message: str, choices: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.choices = choices


def sdk_tables() -> Path | None:
    """The installed SDK's table folder, found through distribution metadata (nothing is imported),
    or None when no SDK is installed."""
    from importlib import metadata

    for dist, folder in SDK_LOCATIONS:
        try:
            path = Path(str(metadata.distribution(dist).locate_file(folder)))
        except metadata.PackageNotFoundError:
            continue
        if (path / "pytorch.json").is_file():
            return path
    return None


@cache
def _table(framework: str) -> dict[str, Any]:
    return json.loads((TABLES / f"{framework}.json").read_bytes())


def _scope(framework: str, scope: Scope) -> dict[str, Any]:
    table = _table(framework)
    scopes = table.get("scope", list(table))
    if "versions" in table:  # a single-scope table (sklearn, xgboost keep both scopes in one)
        if scope not in scopes and len(scopes) == 1:
            raise ImageError(f"{framework} has no {scope} images")
        return table
    if scope not in table:
        raise ImageError(f"{framework} has no {scope} images")
    return table[scope]


def versions(framework: str, scope: Scope, region: str | None = None) -> tuple[str, ...]:
    """Versions (and aliases) with a ``scope`` image, newest first; only those in ``region`` when given."""
    config = _scope(framework, scope)
    aliases = config.get("version_aliases", {})
    full = [v for v in config["versions"] if region is None or region in _registries(config["versions"][v])]
    names = full + [a for a, v in aliases.items() if v in full]
    return tuple(sorted(set(names), key=_version_key, reverse=True))


def _registries(version_config: dict[str, Any]) -> dict[str, str]:
    if "registries" in version_config:
        return version_config["registries"]
    nested = [v for v in version_config.values() if isinstance(v, dict) and "registries" in v]
    return nested[0]["registries"] if nested else {}


def _version_key(version: str) -> tuple:
    parts = []
    for piece in version.replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def processor(instance_type: str, available: list[str]) -> str:
    """cpu, gpu (or an instance family the table names) as the SDK's ``_processor`` decides."""
    family = instance_type.split(".")[1] if instance_type.startswith("ml.") else instance_type.split(".")[0]
    if family in available:
        return family
    if family.startswith(("inf", "trn")):
        return family[:3]
    return "gpu" if family[:1] in ("g", "p") else "cpu"


def resolve(framework: str, version: str, region: str, scope: Scope, instance_type: str) -> str:
    """The image URI of ``framework`` ``version`` for ``scope`` on ``instance_type`` in ``region``."""
    if framework not in FRAMEWORKS:
        raise ImageError(f"mlops-infra resolves framework images for {', '.join(FRAMEWORKS)}, not {framework}")
    config = _scope(framework, scope)
    aliases = config.get("version_aliases", {})
    available = list(config["versions"])
    if len(available) == 1 and version not in aliases:
        version = available[0]
    full = aliases.get(version, version)
    if full not in config["versions"]:
        raise ImageError(f"{framework} {version} has no SageMaker {scope} image", versions(framework, scope, region))
    version_config = config["versions"][full]
    py_versions = version_config.get("py_versions") or [k for k in version_config if k.startswith("py")]
    py = max(py_versions, key=lambda p: int(p[2:] or 0)) if py_versions else None
    if py and py in version_config and isinstance(version_config[py], dict):
        version_config = version_config[py]
    registries = _registries(version_config)
    if region not in registries:
        raise ImageError(f"{framework} {version} has no SageMaker {scope} image in {region}",
                         versions(framework, scope, region))
    processors = config.get("processors") or version_config.get("processors") or []
    proc = processor(instance_type, processors) if processors else None
    if processors and proc not in processors:
        raise ImageError(f"{framework} {version} has no {proc.upper()} {scope} image (only {', '.join(processors)})")
    container = (version_config.get("container_version") or {}).get(proc) if proc else None
    shown = proc if version_config.get("processor_in_tag", True) else None
    tag = "-".join(x for x in (version_config.get("tag_prefix", version), shown, py, container) if x)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{registries[region]}.dkr.ecr.{region}.{suffix}/{version_config['repository']}:{tag}"
