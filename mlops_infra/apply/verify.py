"""Post-apply checks: did the cloud end up where the desired graph says?

SageMaker can roll an endpoint update back silently: the update fails (or its alarms fire), the
endpoint returns to ``InService`` on the OLD endpoint config, and ``pulumi up`` may still have
recorded the new config in state. So after an apply we read ``DescribeEndpoint`` and compare its
``EndpointConfigName`` with the desired one.

Contract:
- :func:`desired_endpoint_configs` reads, from a desired graph, endpoint name -> endpoint config
  name for every ``aws:sagemaker/endpoint:Endpoint`` (the config name may be a literal or a ref to
  the config resource's ``name``/``id``, which the compiler sets literally, content-hashed).
- :func:`verify_endpoint` takes any boto3-compatible SageMaker client (real, moto, or stubbed) and
  returns an :class:`EndpointCheck`; it never raises for a cloud answer (a missing endpoint is a
  failed check), only for programming errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import DesiredGraph

ENDPOINT_TYPE = "aws:sagemaker/endpoint:Endpoint"
IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


@dataclass(frozen=True)
class EndpointCheck:
    """The outcome for one endpoint; ``problem`` is empty when ``ok``."""

    endpoint: str
    desired_config: str
    actual_config: str | None
    status: str | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def desired_endpoint_configs(graph: DesiredGraph) -> dict[str, str]:
    """Endpoint name -> desired endpoint config name (see the module contract)."""
    from mlops_infra.rollout.connect import endpoint_config_names

    return endpoint_config_names(graph)


def verify_endpoint(client: Any, endpoint: str, desired_config: str) -> EndpointCheck:
    """Compare the endpoint's current config with ``desired_config`` (see the module contract)."""
    try:
        described = client.describe_endpoint(EndpointName=endpoint)
    except client.exceptions.ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        return EndpointCheck(endpoint, desired_config, None, None, f"cannot describe the endpoint: {message}")
    actual, status = described.get("EndpointConfigName"), described.get("EndpointStatus")
    return EndpointCheck(endpoint, desired_config, actual, status,
                         _problem(desired_config, actual, status, described.get("FailureReason")))


def _problem(desired: str, actual: str | None, status: str | None, reason: str | None) -> str:
    because = f" ({reason})" if reason else ""
    if status == "Failed":
        return f"the endpoint failed{because}"
    if status in IN_PROGRESS:
        return f"the endpoint is still {status}; check again when it is InService"
    if actual != desired:
        return (f"the endpoint serves config {actual!r}, not the desired {desired!r}: the update was rolled "
                f"back{because}. Check the rollback alarms and the endpoint's events; the next plan shows the "
                "config to send again (not-taken-by-cloud), and apply sends it.")
    if status != "InService":
        return f"the endpoint is {status}{because}"
    return ""


def verify_endpoints(client: Any, graph: DesiredGraph) -> list[EndpointCheck]:
    """:func:`verify_endpoint` for every endpoint of ``graph``, sorted by endpoint name."""
    return [verify_endpoint(client, name, config) for name, config in desired_endpoint_configs(graph).items()]
