"""Which AWS regions exist, as the installed botocore knows them (audit envs-6).

An AWS target's ``region`` is checked only against a pattern (``spec/environments.py``), so ``eu-westt-1``
validated, planned ("Target: aws eu-westt-1") and priced nothing, while the Pulumi AWS provider (a bridge of
terraform-provider-aws) refuses it when it is configured, before any resource: terraform-provider-aws
docs/add-a-new-region.md: "Until the provider is aware of the new region, automatic region validation will
fail" (the compiled provider does not set ``skipRegionValidation``).

Contract:
- :func:`known_regions`: the regions of one partition (``aws``, ``aws-cn``, ``aws-us-gov``: :mod:`mlops_infra.partitions`)
  in botocore's ``data/partitions.json`` (each partition's ``regions``; entries without a number at the end,
  such as ``aws-global``, are endpoint aliases, not regions). Read once per process, lazily, from the file
  (botocore is not imported: validate stays fast), only when asked: an AWS environment exists. None when
  botocore is not installed or its file cannot be read: then nothing is said.
- :func:`unknown_region`: True only for a region botocore's data does not list.
- :func:`check_regions` (a base check: a target cannot be overridden): a warning ``unknown-region`` at each AWS
  environment's ``target.region`` that botocore does not know, with a did-you-mean among its partition's
  regions. A warning, not an error: a region newer than the installed botocore is real and must still work
  (``pip install -U botocore`` then knows it).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from mlops_infra.diagnostics import Diagnostic, did_you_mean, warning
from mlops_infra.partitions import partition
from mlops_infra.spec.context import CheckContext

_REGION = re.compile(r"^[a-z]+(-[a-z]+)+-[0-9]+$")


@cache
def _botocore_data() -> tuple[dict[str, frozenset[str]], str] | None:
    """(partition id -> its regions, botocore's version) from botocore's files, or None without them."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    try:
        data = json.loads((folder / "data" / "partitions.json").read_text(encoding="utf-8"))
        found = re.search(r"""__version__\s*=\s*['"]([^'"]+)['"]""", (folder / "__init__.py").read_text("utf-8"))
        partitions = {str(p["id"]): frozenset(r for r in p.get("regions") or {} if _REGION.match(r))
                      for p in data["partitions"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return partitions, found.group(1) if found else "?"


def known_regions(partition_id: str) -> frozenset[str] | None:
    """The regions botocore knows in ``partition_id`` (None: botocore's data is not available)."""
    data = _botocore_data()
    return None if data is None else data[0].get(partition_id, frozenset())


def botocore_version() -> str:
    data = _botocore_data()
    return "?" if data is None else data[1]


def unknown_region(region: str) -> bool:
    """Whether ``region`` is missing from its partition's regions in botocore's data (False when unknowable)."""
    known = known_regions(partition(region))
    return known is not None and region not in known


def check_regions(ctx: CheckContext) -> Iterator[Diagnostic]:
    """See the module docstring."""
    for name, environment in ctx.system.environments.items():
        target = environment.target
        if target.kind != "aws" or not unknown_region(target.region):
            continue
        known = known_regions(partition(target.region)) or frozenset()
        yield warning(
            "unknown-region",
            f'Environment "{name}": {target.region} is not an AWS region botocore {botocore_version()} knows.'
            + did_you_mean(target.region, known),
            "The Pulumi AWS provider checks the region when it is configured and refuses one it does not know, "
            "before any resource is created; nothing is priced there either. Fix environments."
            f"{name}.target.region. If the region is newer than the installed botocore, upgrade it (`pip install "
            "-U botocore`) and this warning goes away.",
            ("environments", name, "target", "region"), f"environments.{name}")
