"""The provider versions a state records against the SDK versions this install runs ``pulumi up`` with
(``mlops_infra.plan.provider_versions``; audit provvers-4)."""

from __future__ import annotations

from importlib.metadata import version

from mlops_infra.graph import GraphBuilder, make_urn
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.provider_versions import installed_sdk_versions
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
    assert installed == {"aws": version("pulumi_aws"), "kubernetes": version("pulumi_kubernetes")}
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
