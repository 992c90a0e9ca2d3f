"""Which provider versions wrote the state, against the SDK versions this install runs ``pulumi up`` with.

Contract: :func:`installed_sdk_versions` gives the installed ``pulumi_aws`` / ``pulumi_kubernetes`` distribution
versions (``importlib.metadata``, read once) in the engine's spelling (:func:`engine_version`); for an SDK not
installed where the plan runs, the version the stacks pin (:data:`mlops_infra.sdk_pins.SDK_PINS`), marked as such
(:class:`PinnedVersion`): a plan made in a virtualenv without the Pulumi SDKs (the PR workflow's, docs/plan.md,
installs ``mlops-infra[aws]``) compared nothing before (audit pin44-5), while ``pulumi up`` from a stack installs
those pins (stacks/*/requirements.txt, what ``mlops-infra init`` writes). A plan made for a stack directory is
given the pins of that stack's ``requirements.txt`` instead (:func:`with_stack_pins`; the CLI reads them with
:func:`mlops_infra.stacks.pinned_sdk_versions`): a stack scaffolded before an upgrade of the pins still installs its
older provider, which wrote its state, so comparing with :data:`~mlops_infra.sdk_pins.SDK_PINS` warned of an upgrade
``up`` there never makes (audit closing-44c-1). :func:`version_warnings`
gives one warning per package whose provider resources in the state record another ``version`` than that (the
installed version also converted, so a PEP 440 one compares as the engine stores it), naming both versions and the
providers, and naming where a :class:`PinnedVersion` is pinned. Other packages (docker-build) and providers that
record no version are not compared.

Why: the provider plugin an ``up`` loads is the program's SDK's own version: ``pulumi_aws/_utilities.py``
``get_resource_opts_defaults`` -> ``ResourceOptions(version=get_version(), ...)``; the engine writes it into the
provider's inputs (pulumi/pulumi ``pkg/resource/deploy/source_eval.go``: ``providers.SetProviderVersion``) and loads
that version (``pkg/resource/deploy/providers/registry.go`` ``Check``: ``GetProviderVersion(req.News)``). So the
stored ``version`` of each ``pulumi:providers:<pkg>`` is the version that last wrote the state, and the planner's rules
(``plan/rules.py``, ``plan/normalize.py``) are those of the SDK installed here; a provider upgrade is where stored
inputs move (pulumi-aws docs/version-7-upgrade.md: "You may see a refresh diff as Pulumi migrates the state";
pulumi/pulumi-aws#5521), so the plan says when the two differ.

The SDK does not send its distribution version as it is: ``get_version()`` is ``_get_semver_version()``
(``pulumi_aws/_utilities.py`` 7.51.1 and ``pulumi_kubernetes/_utilities.py`` 4.34.2, the same code): "PEP440 and semver
differ slightly in incompatible ways. The Pulumi engine expects to receive a valid semver string", so ``7.52.0rc1`` is
stored as ``7.52.0-rc.1``, ``a``/``b`` as ``-alpha.N``/``-beta.N``, a dev release as ``-dev.N``, a local version as
``-<local>`` (audit closing-43a-1: compared as PEP 440, a pre-release install warned about its own state).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from mlops_infra.state.model import PriorState

SDK_DISTRIBUTIONS = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
"""Provider package -> the Python SDK distribution the program registers its resources with."""

_DISPLAY = {"aws": "pulumi-aws", "kubernetes": "pulumi-kubernetes"}
_PRE = {"a": "alpha", "b": "beta", "rc": "rc"}
_RELEASE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def engine_version(pep440: str) -> str:
    """``pep440`` as the SDK reports it to the engine, which stores it (``_utilities._get_semver_version``, see the
    module docstring): ``major.minor.patch`` and a pre-release tag from the first of ``pre`` (a -> alpha, b -> beta,
    rc), ``dev``, ``local``. A version ``packaging`` (a dependency of mlops-infra) cannot parse (a semver one already) is
    kept as given; a plain ``major.minor.patch`` is one already (``packaging`` is not imported
    for it: the plan's path)."""
    if _RELEASE.fullmatch(pep440):
        return pep440
    from packaging.version import InvalidVersion, Version

    try:
        parsed = Version(pep440)
    except InvalidVersion:
        return pep440
    major, minor, patch = (*parsed.release, 0, 0)[:3]
    tag: str | None = None
    if parsed.pre is not None:
        tag = f"{_PRE[parsed.pre[0]]}.{parsed.pre[1]}"
    elif parsed.dev is not None:
        tag = f"dev.{parsed.dev}"
    elif parsed.local is not None:
        tag = parsed.local
    return f"{major}.{minor}.{patch}" + (f"-{tag}" if tag else "")


class PinnedVersion(str):
    """An SDK version that is not installed where the plan runs: the one ``pulumi up`` from a stack installs, pinned
    in ``where``: the stack's ``requirements.txt`` line (``path:line``, :func:`with_stack_pins`), else
    ``mlops_infra/sdk_pins.py`` (what ``init`` writes into every stack). Compares as the plain version."""

    where: str

    def __new__(cls, value: str, where: str = "mlops_infra/sdk_pins.py") -> PinnedVersion:
        pinned = super().__new__(cls, value)
        pinned.where = where
        return pinned


@cache
def installed_sdk_versions() -> dict[str, str]:
    """Provider package -> the installed SDK's version as the engine stores it (:func:`engine_version`), else the
    pinned one as a :class:`PinnedVersion` (see the module contract)."""
    from importlib.metadata import PackageNotFoundError, version

    from mlops_infra.sdk_pins import SDK_PINS

    found: dict[str, str] = {}
    for package, distribution in SDK_DISTRIBUTIONS.items():
        try:
            found[package] = engine_version(version(distribution))
        except PackageNotFoundError:
            found[package] = PinnedVersion(engine_version(SDK_PINS[_DISPLAY[package]]))
    return found


def with_stack_pins(installed: Mapping[str, str], pins: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """``installed`` (:func:`installed_sdk_versions`) with each SDK that is not installed here (a
    :class:`PinnedVersion`) taken from ``pins`` when the stack pins it: distribution name (``pulumi-aws``) ->
    (version, ``path:line`` of the pin), what ``pulumi up`` in that stack installs (pulumi/pulumi
    ``sdk/python/toolchain/pip.go`` ``InstallDependencies``: ``pip install -r requirements.txt`` in the stack
    directory). An installed SDK is kept: the plan's rules are its. A package the stack does not pin keeps
    :data:`~mlops_infra.sdk_pins.SDK_PINS`'."""
    found = dict(installed)
    for package, version in installed.items():
        pin = pins.get(_DISPLAY.get(package, package))
        if isinstance(version, PinnedVersion) and pin is not None:
            found[package] = PinnedVersion(engine_version(pin[0]), where=pin[1])
    return found


def version_warnings(prior: PriorState, installed: Mapping[str, str]) -> list[str]:
    """One warning per package whose providers in ``prior`` record a ``version`` other than ``installed``'s (both in
    the engine's spelling: :func:`engine_version`); a :class:`PinnedVersion` is named with the file that pins it."""
    pinned = {package: found.where for package, found in installed.items() if isinstance(found, PinnedVersion)}
    installed = {package: engine_version(found) for package, found in installed.items()}
    recorded: dict[str, dict[str, list[str]]] = {}
    for urn, state in prior.resources.items():
        if not state.type.startswith("pulumi:providers:"):
            continue
        package = state.type.rsplit(":", 1)[1]
        version = state.inputs.get("version") if package in installed else None
        if isinstance(version, str) and version and version != installed[package]:
            recorded.setdefault(package, {}).setdefault(version, []).append(urn.rsplit("::", 1)[-1])
    warnings = []
    for package, versions in sorted(recorded.items()):
        name, now = _DISPLAY.get(package, package), installed[package]
        written = "; ".join(f"{name} {v} (provider {', '.join(sorted(names))})" for v, names in sorted(versions.items()))
        major = any(v.split(".", 1)[0] != now.split(".", 1)[0] for v in versions)
        then = (f" A new major version: follow {name}'s upgrade guide for {now.split('.', 1)[0]}.x (run `pulumi up "
                "--refresh --run-program` once) before trusting this plan." if major else "")
        where = pinned.get(package)
        runs = (f"this install runs `pulumi up` with {name} {now}" if where is None
                else f"the stacks pin {name} {now} ({where}; no {name} SDK is installed here)"
                if where == PinnedVersion(now).where
                else f"the stack pins {name} {now} ({where}; no {name} SDK is installed here)")
        warnings.append(f"the state was last written by {written}, but {runs}: "
                        f"this plan assumes what {now} stores, and a provider upgrade can change the stored inputs, so "
                        f"the first `up` may show changes this plan does not.{then}")
    return warnings
