"""A SageMaker endpoint that is not ready, read by ``plan --refresh`` on a moto server
(tests/support/moto_server.py): ``DescribeEndpoint``'s ``EndpointStatus`` and ``FailureReason`` reach the
reading's outputs (mlops_infra/state/aws_live/sagemaker.py ``map_endpoint``) and
mlops_infra/plan/readiness.py judges them.

moto cannot make an endpoint ``Failed`` through the API: ``CreateEndpoint`` makes it ``InService`` at
once and no call fails it (moto 5 ``sagemaker/models.py`` ``FakeEndpoint``: ``endpoint_status =
"InService"``, ``failure_reason = None``). Its own model holds both fields and its ``DescribeEndpoint``
answers them (``response_object``: every non-None attribute, ``FailureReason`` included), so the tests
set them on moto's backend object, as a SageMaker endpoint whose instances failed their health check
would show them; the answer still comes from moto's server over HTTP, read by the real scan."""

from __future__ import annotations

import pytest

from mlops_infra.plan.model import Action, Plan, Reason, ResourceChange
from mlops_infra.plan.readiness import marked, not_ready
from mlops_infra.render.human import render_text
from mlops_infra.state.aws_live import RetryPolicy, scan_aws
from tests.support import fixtures
from tests.support.fixtures import ACCOUNT, SeededStack
from tests.support.moto_server import REGION, shared_session

moto_server, moto_url, seeded = fixtures.moto_server, fixtures.moto_url, fixtures.seeded
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
HEALTH_CHECK = ("The primary container for production variant primary did not pass the ping health check. "
                "Please check CloudWatch logs for this endpoint.")


def set_endpoint(name: str, status: str, reason: str | None) -> None:
    """What SageMaker shows for an endpoint that failed (see the module docstring)."""
    from moto.sagemaker.models import sagemaker_backends

    found = sagemaker_backends[ACCOUNT][REGION].endpoints[name]
    found.endpoint_status, found.failure_reason = status, reason


def scan(stack: SeededStack):
    return scan_aws(stack.prior.resources.values(), region=REGION, session_factory=shared_session,
                    endpoint_url=stack.url, retry=RetryPolicy(botocore_max_attempts=1), deadline=600)


@pytest.mark.moto
def test_an_endpoint_in_service_is_ready(seeded: SeededStack) -> None:
    live = scan(seeded)
    endpoint = live.resources[seeded.urn(ENDPOINT, "scorer")]
    assert endpoint.outputs["endpointStatus"] == "InService" and "failureReason" not in endpoint.outputs
    assert not_ready(live) == {}


@pytest.mark.moto
def test_a_failed_endpoint_is_not_ready_with_sagemakers_reason(seeded: SeededStack) -> None:
    set_endpoint(seeded.endpoint, "Failed", HEALTH_CHECK)
    described = seeded.client("sagemaker").describe_endpoint(EndpointName=seeded.endpoint)
    assert (described["EndpointStatus"], described["FailureReason"]) == ("Failed", HEALTH_CHECK)
    live = scan(seeded)
    urn = seeded.urn(ENDPOINT, "scorer")
    assert live.resources[urn].outputs["failureReason"] == HEALTH_CHECK
    found = not_ready(live)
    assert set(found) == {urn}
    assert (found[urn].state, found[urn].why) == ("the endpoint is Failed", HEALTH_CHECK)
    # the planner makes a Failed endpoint a delete-first replace (reason endpoint-failed, plan/init_errors.py):
    # marked leaves it as it is, so it is never also a not-ready note
    replaced = ResourceChange(urn, ENDPOINT, "scorer", Action.REPLACE, Reason("endpoint-failed", "SageMaker says the "
                              "endpoint failed"), address="endpoints.scorer", delete_before_replace=True)
    assert marked((replaced,), found) == (replaced,)


@pytest.mark.moto
def test_an_endpoint_whose_update_failed_is_in_service_but_not_ready(seeded: SeededStack) -> None:
    reason = "Request to service failed. If failure persists after retry, contact customer support."
    set_endpoint(seeded.endpoint, "InService", reason)
    found = not_ready(scan(seeded))
    (item,) = found.values()
    assert item.state.startswith("in service, but its last update failed") and item.why == reason
    change = ResourceChange(item.urn, ENDPOINT, "scorer", Action.NOOP, Reason("no-change", "no changes"),
                            address="endpoints.scorer")
    plan = Plan("fraud", "dev", {"cloud": "aws"}, "s" * 64, "d" * 64, marked((change,), found), refreshed=True)
    assert not plan.has_changes
    text = " ".join(render_text(plan).split())
    assert "Not ready: 1 resource read live is not ready" in text
    assert (f"scorer: in service, but its last update failed and it still runs its previous configuration "
            f"(live: {reason})") in text
    assert f"`aws sagemaker describe-endpoint --endpoint-name {seeded.endpoint}`" in text
    assert text.endswith("No changes to apply, but 1 resource is not ready (see Not ready above).")
