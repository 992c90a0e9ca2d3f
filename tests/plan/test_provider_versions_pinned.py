"""A plan made where no Pulumi SDK is installed compares the state's provider versions with the ones the stacks
pin (audit pin44-5).

``validate`` and ``plan`` need no Pulumi SDK (the PR workflow's plan job installs ``mlops-infra[aws]``, docs/plan.md),
and :func:`mlops_infra.plan.provider_versions.installed_sdk_versions` left an SDK that is not installed out, so such a
plan never said that another provider version wrote the state. ``pulumi up`` from a stack installs the pins
(``mlops_infra/sdk_pins.py``; stacks/*/requirements.txt, what ``mlops-infra init`` writes): those are compared.
"""

from __future__ import annotations

import importlib.metadata

import pytest

from mlops_infra.plan import provider_versions
from mlops_infra.sdk_pins import SDK_PINS
from tests.plan.test_state_provider_versions import _state, _warnings


@pytest.fixture()
def no_aws_sdk(monkeypatch: pytest.MonkeyPatch):
    """``importlib.metadata`` finds no pulumi_aws distribution (the cached answer is read again, and again after)."""
    real = importlib.metadata.version

    def version(name: str) -> str:
        if name == "pulumi_aws":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    provider_versions.installed_sdk_versions.cache_clear()
    yield
    monkeypatch.undo()
    provider_versions.installed_sdk_versions.cache_clear()


def test_without_the_sdk_the_pinned_version_is_compared_and_named_as_the_pin(no_aws_sdk) -> None:
    """Fails before: no pulumi_aws installed, no entry, no warning."""
    pin = SDK_PINS["pulumi-aws"]
    warnings = _warnings(_state(("aws", "aws", "7.40.0")), None)
    assert len(warnings) == 1, warnings
    [warning] = warnings
    assert warning.startswith(f"the state was last written by pulumi-aws 7.40.0 (provider aws), but the stacks pin "
                              f"pulumi-aws {pin} (mlops_infra/sdk_pins.py; no pulumi-aws SDK is installed here): this "
                              f"plan assumes what {pin} stores")
    assert _warnings(_state(("aws", "aws", pin)), None) == ()
    versions = provider_versions.installed_sdk_versions()
    assert versions["aws"] == pin and isinstance(versions["aws"], provider_versions.PinnedVersion)
    assert not isinstance(versions["kubernetes"], provider_versions.PinnedVersion)  # installed: said as before


def test_an_installed_sdk_is_still_said_as_the_one_up_runs_with() -> None:
    warn = provider_versions.version_warnings
    [warning] = warn(_state(("aws", "aws", "7.40.0")), {"aws": "7.51.1", "kubernetes": "4.34.2"})
    assert "but this install runs `pulumi up` with pulumi-aws 7.51.1:" in warning
    [warning] = warn(_state(("aws", "aws", "7.40.0")), {"aws": provider_versions.PinnedVersion("7.51.1")})
    assert "but the stacks pin pulumi-aws 7.51.1 (" in warning
