"""The code the scheduled rollout runners ship: mlops-infra's own rollout modules, read as text.

Contract: :func:`files` returns ``(archive path, text)`` of modules of the installed ``mlops_infra``
package, read with ``importlib.resources`` (never imported here: the rollout package ranks above
compile, ``tests/test_layering.py``). The runners run exactly these modules, the same reconcile,
fleet pass, drivers and gates as ``mlops-infra rollout``, plus ``rollouts.json``, the runner's document
(format in ``mlops_infra/rollout/scheduled.py``). Each target lists what its runner imports; a test
per target runs the shipped files alone, so a missing module fails there.

:func:`declared_autoscaling` is the document's ``autoscaling`` entry of an endpoint (and what
``rollout/connect.py`` reads from a graph): the compiled ``aws:appautoscaling`` target and policies
(``compile/aws/serving.py``) as Application Auto Scaling API arguments, which the SageMaker driver
puts back when a finish that moved them was killed (``rollout/drivers/sagemaker.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from mlops_infra.jsoncodec import stdlib_pretty

DOCUMENT = "rollouts.json"
COMMON = ("__init__.py", "canary_size.py", "rollout/__init__.py", "rollout/model.py", "rollout/reconcile.py",
          "rollout/runner.py", "rollout/schedule.py", "rollout/fleet.py", "rollout/scheduled.py", "rollout/drivers/__init__.py",
          "rollout/gates/__init__.py")
AWS = (*COMMON, "endpoint_tags.py", "rollout/drivers/sagemaker.py", "rollout/gates/cloudwatch.py")
"""What the AWS runner imports (boto3 comes with the Lambda runtime)."""
KUBERNETES = (*COMMON, "rollout/drivers/kserve.py", "rollout/gates/prometheus.py", "diagnostics.py", "errors.py",
              "name_lists.py", "kube/__init__.py", "kube/client.py", "kube/config.py", "kube/errors.py", "kube/resources.py")
"""What the Kubernetes runner imports: the KServe driver imports the client layer's errors and resource
paths (its ``kubernetes`` package is imported only when a KubeClient is built, which the runner never
does: it uses :class:`~mlops_infra.rollout.scheduled.ServiceAccountKube`)."""


@cache
def files(paths: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``(mlops_infra/<path>, text)`` of each of ``paths``."""
    root = resources.files("mlops_infra")
    return tuple((f"mlops_infra/{path}", root.joinpath(path).read_text(encoding="utf-8")) for path in paths)


def document_text(document: dict[str, Any]) -> str:
    """The runner's document as shipped: ``json.dumps(document, indent=2, sort_keys=True) + "\\n"``,
    byte for byte (the code digest of every runner is taken over it), written by
    :func:`~mlops_infra.jsoncodec.stdlib_pretty` (orjson, with ``json`` for what orjson spells otherwise)."""
    return stdlib_pretty(document)


def declared_autoscaling(target: dict[str, Any] | None, policies: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """``{"target": {"MinCapacity", "MaxCapacity"}, "policies": [PutScalingPolicy arguments]}`` from the
    Pulumi inputs of an ``aws:appautoscaling/target:Target`` and its ``aws:appautoscaling/policy:Policy``
    resources (None without a target). The API names are botocore's (``RegisterScalableTargetRequest``;
    ``PutScalingPolicyRequest``: ``PolicyName``, ``PolicyType``,
    ``TargetTrackingScalingPolicyConfiguration``, whose members are the Pulumi input names with a
    capital first letter: ``TargetValue``, ``ScaleInCooldown``, ``PredefinedMetricSpecification``,
    ``CustomizedMetricSpecification`` with ``Dimensions`` of ``Name``/``Value``...). Policies are
    sorted by name."""
    if target is None:
        return None
    out = []
    for policy in sorted(policies, key=lambda p: str(p.get("name"))):
        entry: dict[str, Any] = {"PolicyName": policy["name"], "PolicyType": policy.get("policyType", "StepScaling")}
        if policy.get("targetTrackingScalingPolicyConfiguration"):
            entry["TargetTrackingScalingPolicyConfiguration"] = _api_names(
                policy["targetTrackingScalingPolicyConfiguration"])
        out.append(entry)
    return {"target": {"MinCapacity": target["minCapacity"], "MaxCapacity": target["maxCapacity"]}, "policies": out}


def _api_names(value: Any) -> Any:
    """Pulumi's camelCase input names -> the API's PascalCase member names (keys only, recursively)."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: _api_names(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_api_names(item) for item in value]
    return value
