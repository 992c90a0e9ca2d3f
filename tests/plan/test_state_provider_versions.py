"""The provider versions a state records against the SDK versions this install runs ``pulumi up`` with
(``mlops_infra.plan.provider_versions``; audit provvers-4)."""

from __future__ import annotations

from importlib.metadata import version

from mlops_infra.graph import GraphBuilder, make_urn
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.provider_versions import engine_version, installed_sdk_versions
from mlops_infra.state.model import PriorState, StateResource

P, S = "fraud", "prod"


def _state(*providers: tuple[str, str, str]) -> PriorState:
    """A state holding a bucket and the given (package, name, stored version) providers."""
    records = [StateResource(urn=make_urn(S, P, [f"pulumi:providers:{package}"], name), type=f"pulumi:providers:{package}",
                             custom=True, id="x", inputs={"version": stored} if stored else {})
               for package, name, stored in providers]
    records.append(StateResource(urn=make_urn(S, P, ["aws:s3/bucket:Bucket"], "data"), type="aws:s3/bucket:Bucket",
                                 custom=True, id="d", inputs={"bucket": "d"}))
    return PriorState(resources={r.urn: r for r in records}, source="test", version=3, serial="s", project=P, stack=S)


def _warnings(prior: PriorState, installed: dict[str, str] | None) -> tuple[str, ...]:
    b = GraphBuilder(P, S)
    b.add("aws:s3/bucket:Bucket", "data", {"bucket": "d"}, address="data_sources.data")
    options = PlanOptions(summarize_ml=False, estimate_cost=False, sdk_versions=installed)
    return make_plan(b.build(), prior, options=options).warnings


def test_a_state_written_by_another_provider_version_is_said_naming_both() -> None:
    """Fails before: the plan says nothing of the versions."""
    [warning] = _warnings(_state(("aws", "aws", "7.40.0")), {"aws": "7.51.1", "kubernetes": "4.34.2"})
    assert warning.startswith("the state was last written by pulumi-aws 7.40.0 (provider aws), but this install runs "
                              "`pulumi up` with pulumi-aws 7.51.1")
    assert "new major version" not in warning


def test_the_installed_sdks_are_compared_by_default() -> None:
    installed = installed_sdk_versions()
    assert installed == {"aws": engine_version(version("pulumi_aws")), "kubernetes": engine_version(version("pulumi_kubernetes"))}
    [warning] = _warnings(_state(("aws", "aws", "7.40.0")), None)
    assert f"with pulumi-aws {installed['aws']}:" in warning


def test_the_same_version_an_unrecorded_one_and_other_packages_are_not_said() -> None:
    prior = _state(("aws", "aws", "7.51.1"), ("aws", "default_7_51_1", "7.51.1"), ("kubernetes", "k8s", ""),
                   ("docker-build", "default_0_0_1", "0.0.1"))
    assert _warnings(prior, {"aws": "7.51.1", "kubernetes": "4.34.2"}) == ()


def test_a_major_version_and_several_providers_are_named() -> None:
    prior = _state(("aws", "aws", "6.83.0"), ("aws", "default_6_83_0", "6.83.0"), ("kubernetes", "k8s", "4.18.0"))
    aws, kubernetes = _warnings(prior, {"aws": "7.51.1", "kubernetes": "4.34.2"})
    assert aws.startswith("the state was last written by pulumi-aws 6.83.0 (provider aws, default_6_83_0)")
    assert "A new major version: follow pulumi-aws's upgrade guide for 7.x" in aws
    assert kubernetes.startswith("the state was last written by pulumi-kubernetes 4.18.0 (provider k8s), but this "
                                 "install runs `pulumi up` with pulumi-kubernetes 4.34.2")


def test_a_pre_release_sdk_compares_its_own_state_in_the_engines_spelling() -> None:
    """Fails before (closing-43a-1): ``7.52.0rc1`` was compared as a string with the ``7.52.0-rc.1`` that the same
    install's ``pulumi up`` stores, and warned that another version wrote the state."""
    for pep440, stored in [("7.52.0rc1", "7.52.0-rc.1"), ("7.52.0a1733400000", "7.52.0-alpha.1733400000"),
                           ("7.52.0.dev5", "7.52.0-dev.5"), ("7.52.0+abc123", "7.52.0-abc123")]:
        assert _warnings(_state(("aws", "default_7_52_0", stored)), {"aws": pep440, "kubernetes": "4.34.2"}) == (), pep440
    [warning] = _warnings(_state(("aws", "aws", "7.52.0-rc.1")), {"aws": "7.52.0", "kubernetes": "4.34.2"})
    assert warning.startswith("the state was last written by pulumi-aws 7.52.0-rc.1 (provider aws), but this install "
                              "runs `pulumi up` with pulumi-aws 7.52.0:")
    [warning] = _warnings(_state(("aws", "aws", "7.51.1")), {"aws": "7.52.0rc1", "kubernetes": "4.34.2"})
    assert "this install runs `pulumi up` with pulumi-aws 7.52.0-rc.1:" in warning  # said as the engine will store it


def test_the_engine_spelling_is_the_sdks_own(monkeypatch) -> None:
    """:func:`engine_version` against ``pulumi_aws._utilities._get_semver_version`` (what ``get_version()`` sends the
    engine), fed each distribution version through ``importlib.metadata.version``."""
    import importlib.metadata

    from pulumi_aws import _utilities

    for pep440 in ["7.51.1", "7.52.0rc1", "7.52.0a1733400000", "7.52.0b2", "7.52.0.dev5", "7.52.0+abc123",
                   "7.52.0rc1.dev3"]:
        monkeypatch.setattr(importlib.metadata, "version", lambda _name, v=pep440: v)
        assert engine_version(pep440) == str(_utilities._get_semver_version()), pep440
    assert engine_version("7.52.0-rc.1") == "7.52.0-rc.1"  # already the engine's: unchanged
