"""The Pulumi SDK versions the plan's rules follow, which every stack directory installs.

Contract:
- :data:`SDK_PINS`: distribution name -> the exact version, one entry per package of the ``pulumi`` extra
  (pyproject.toml). These are the versions CI installs (constraints.txt, through ``PIP_CONSTRAINT`` in .ci/run),
  runs the plan's tests against, and whose provider source the plan's rules cite (``plan/rules.py``,
  ``plan/normalize.py``, ``plan/provider_versions.py``). tests/test_stacks_sdk_pins.py fails when this table, the
  extra, constraints.txt or a stack directory of this repository disagree.
- :func:`pin_lines`: the ``name==version`` requirement lines of :data:`SDK_PINS`, which a scaffolded
  ``stacks/<env>/requirements.txt`` carries (:func:`mlops_infra.stacks.scaffold_files`); this repository's own
  stacks constrain with ``-c ../../constraints.txt``, which holds the same versions.
- :func:`differing`: which pinned distributions an installed set of versions has at another version (or lacks).

Why pin the stacks: the ``pulumi`` extra is a library's range (any pulumi-aws 7.x, pulumi-kubernetes 4.x), but the
provider plugin ``pulumi up`` loads is the version of the program's SDK (``pulumi_aws/_utilities.py``
``get_resource_opts_defaults`` -> ``ResourceOptions(version=get_version())``, which the engine records as the
provider's ``version`` input and loads: see :mod:`mlops_infra.plan.provider_versions`). A stack installing a newer
SDK than the rules describe is applied by a provider whose stored inputs, replace triggers and defaults the plan
does not know; the plan then warns on every run until it is brought back. Pulumi fills a stack's virtualenv from
that directory's ``requirements.txt`` when it creates the virtualenv (pulumi/pulumi ``sdk/python/toolchain/pip.go``
``(*pip).EnsureVenv`` -> ``InstallDependencies``: ``python -m pip install -r requirements.txt`` with ``Dir = cwd``,
the project directory), so the pins there decide the provider version.

This module imports nothing: ``validate`` and ``plan`` may read it without the Pulumi SDKs (tests/test_layering.py).
Moving to newer providers is a procedure, not an edit of this table alone: docs/pulumi.md, "Provider versions".
"""

from __future__ import annotations

from collections.abc import Mapping

SDK_PINS: Mapping[str, str] = {
    "pulumi": "3.272.0",
    "pulumi-aws": "7.51.1",
    "pulumi-kubernetes": "4.34.2",
    "pulumi-docker-build": "0.0.22",
}
"""Distribution (PEP 503 normalised name) -> the exact version stacks install and the plan's rules follow."""

PROVIDER_SDKS = ("pulumi-aws", "pulumi-kubernetes", "pulumi-docker-build")
"""The distributions of :data:`SDK_PINS` that select a provider plugin (the rest is the Pulumi SDK itself)."""


def pin_lines() -> list[str]:
    """``name==version`` for each of :data:`SDK_PINS`, in its order (requirement lines, PEP 508)."""
    return [f"{name}=={version}" for name, version in SDK_PINS.items()]


def differing(installed: Mapping[str, str | None]) -> dict[str, str | None]:
    """Pinned distribution -> the version ``installed`` has (None: not installed) for each one whose version is
    not the pin. ``installed`` maps normalised names to versions as ``importlib.metadata`` reports them."""
    return {name: installed.get(name) for name, pin in SDK_PINS.items() if installed.get(name) != pin}
