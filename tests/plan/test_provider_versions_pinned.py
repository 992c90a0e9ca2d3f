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


def _stack(tmp_path, aws: str):
    """A stack directory whose requirements.txt pins pulumi-aws ``aws`` on line 3 (as ``init`` wrote it before an
    upgrade of the pins)."""
    (tmp_path / "requirements.txt").write_text(
        f"mlops-infra==0.0.0\npulumi=={SDK_PINS['pulumi']}\npulumi-aws=={aws}\n"
        f"pulumi-kubernetes=={SDK_PINS['pulumi-kubernetes']}\n", encoding="utf-8")
    return tmp_path


def _stack_plan_warnings(prior, stack_dir) -> tuple[str, ...]:
    """The warnings of the plan the CLI makes for ``stack_dir`` (``cli.commands.plan.make``: plan, apply, promote)."""
    from mlops_infra.cli.commands.plan import make
    from mlops_infra.graph import GraphBuilder
    from tests.plan.test_state_provider_versions import P, S

    b = GraphBuilder(P, S)
    b.add("aws:s3/bucket:Bucket", "data", {"bucket": "d"}, address="data_sources.data")
    return make(b.build(), prior, None, None, [], stack_dir).warnings


def test_a_stack_pinning_the_states_version_gives_no_version_warning(no_aws_sdk, tmp_path) -> None:
    """closing-44c-1. Fails before: compared with SDK_PINS' 7.51.1, the plan said 'the stacks pin pulumi-aws
    7.51.1' for a stack whose requirements.txt installs the 7.40.0 that wrote the state."""
    stack = _stack(tmp_path, "7.40.0")
    warnings = _stack_plan_warnings(_state(("aws", "aws", "7.40.0")), stack)
    assert not [w for w in warnings if "the state was last written by" in w], warnings
    assert not [w for w in warnings if f"pin pulumi-aws {SDK_PINS['pulumi-aws']}" in w], warnings


def test_a_stack_pin_other_than_the_states_is_named_with_its_line(no_aws_sdk, tmp_path) -> None:
    """closing-44c-1: the stack's pin, at its requirements.txt line, is what the state is compared with."""
    stack = _stack(tmp_path, "7.40.0")
    warnings = _stack_plan_warnings(_state(("aws", "aws", "6.83.0")), stack)
    [warning] = [w for w in warnings if "the state was last written by" in w]
    assert warning.startswith(f"the state was last written by pulumi-aws 6.83.0 (provider aws), but the stack pins "
                              f"pulumi-aws 7.40.0 ({stack / 'requirements.txt'}:3; no pulumi-aws SDK is installed "
                              "here): this plan assumes what 7.40.0 stores")
    assert "upgrade guide for 7.x" in warning


def test_a_stack_that_pins_no_sdk_falls_back_to_the_pins(no_aws_sdk, tmp_path) -> None:
    (tmp_path / "requirements.txt").write_text("mlops-infra==0.0.0\n", encoding="utf-8")
    [warning] = [w for w in _stack_plan_warnings(_state(("aws", "aws", "7.40.0")), tmp_path)
                 if "the state was last written by" in w]
    assert f"but the stacks pin pulumi-aws {SDK_PINS['pulumi-aws']} (mlops_infra/sdk_pins.py;" in warning


def test_with_stack_pins_keeps_an_installed_sdk() -> None:
    installed = {"aws": "7.51.1", "kubernetes": provider_versions.PinnedVersion("4.34.2")}
    found = provider_versions.with_stack_pins(installed, {"pulumi-aws": ("7.40.0", "r.txt:3"),
                                                          "pulumi-kubernetes": ("4.18.0rc1", "r.txt:4")})
    assert found["aws"] == "7.51.1" and not isinstance(found["aws"], provider_versions.PinnedVersion)
    assert found["kubernetes"] == "4.18.0-rc.1" and found["kubernetes"].where == "r.txt:4"
