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
- :data:`POLICY_PINS` and :func:`policy_pin_lines`: the same for a CrossGuard policy pack
  (``mlops-infra policy-pack``, :func:`mlops_infra.stacks.policy_pack_files`): the SDKs of :data:`SDK_PINS` plus
  the packages of the ``policy`` extra (``pulumi-policy``), at the versions constraints.txt pins.
- :func:`differing`: which pinned distributions an installed set of versions has at another version (or lacks).
- ``.ci/update-constraints`` installs with :func:`pin_lines` and :func:`policy_pin_lines` as pip constraints, so
  regenerating constraints.txt for another dependency never moves an SDK (tests/test_update_constraints.py).

Why pin the stacks: the ``pulumi`` extra is a library's range (any pulumi-aws 7.x, pulumi-kubernetes 4.x), but the
provider plugin ``pulumi up`` loads is the version of the program's SDK (``pulumi_aws/_utilities.py``
``get_resource_opts_defaults`` -> ``ResourceOptions(version=get_version())``, which the engine records as the
provider's ``version`` input and loads: see :mod:`mlops_infra.plan.provider_versions`). A stack installing a newer
SDK than the rules describe is applied by a provider whose stored inputs, replace triggers and defaults the plan
does not know; the plan then warns on every run until it is brought back. Pulumi fills a stack's virtualenv from
that directory's ``requirements.txt`` when it creates the virtualenv (pulumi/pulumi ``sdk/python/toolchain/pip.go``
``(*pip).EnsureVenv`` -> ``InstallDependencies``: ``python -m pip install -r requirements.txt`` with ``Dir = cwd``,
the project directory), so the pins there decide the provider version.

Why the policy pack pins by name, not with ``-c constraints.txt`` as this repository's stacks do: pulumi-policy 1.21.0
requires ``protobuf~=5.29.5`` (pulumi/pulumi-policy ``sdk/python/lib/setup.py`` line 45 at tag v1.21.0; its
unreleased HEAD allows ``protobuf>=5.29.5,<7.0.0``, pulumi/pulumi-policy#454), while constraints.txt pins the
protobuf 6 the rest of CI's environment runs (the Pulumi SDK's ``opentelemetry-exporter-otlp-proto-grpc`` requires
``googleapis-common-protos~=1.57``, whose 1.76.0 there requires ``protobuf>=6.33.5``; CI installs pulumi-policy with
``--no-deps``, .ci/run). Constrained with constraints.txt, pip could not install the pack (no protobuf is both
5.29.x and 6.33.6). So the pack's requirements pin the Pulumi packages alone, and pip resolves the rest around
pulumi-policy's protobuf 5.29, which the pinned ``pulumi`` accepts (``protobuf<7,>=3.20.3``, its 3.272.0 metadata),
as a user's ``pip install 'mlops-infra[policy]'`` does (docs/guardrails.md, "Installing pulumi-policy").
tests/test_policy_pack_pins.py checks the pinned versions' declared requirements against each other.

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


POLICY_PINS: Mapping[str, str] = {
    "pulumi-policy": "1.21.0",
}
"""The packages of the ``policy`` extra besides mlops-infra itself (pyproject.toml) -> the exact version a policy
pack installs: the one constraints.txt pins, which CI runs the pack's tests with."""


def pin_lines() -> list[str]:
    """``name==version`` for each of :data:`SDK_PINS`, in its order (requirement lines, PEP 508)."""
    return [f"{name}=={version}" for name, version in SDK_PINS.items()]


def policy_pin_lines() -> list[str]:
    """:func:`pin_lines` then ``name==version`` for each of :data:`POLICY_PINS`: a policy pack's pins."""
    return pin_lines() + [f"{name}=={version}" for name, version in POLICY_PINS.items()]


def differing(installed: Mapping[str, str | None]) -> dict[str, str | None]:
    """Pinned distribution -> the version ``installed`` has (None: not installed) for each one whose version is
    not the pin. ``installed`` maps normalised names to versions as ``importlib.metadata`` reports them."""
    return {name: installed.get(name) for name, pin in SDK_PINS.items() if installed.get(name) != pin}
