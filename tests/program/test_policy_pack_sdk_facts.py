"""The pack sees a component's facts as the Python SDK sends them: without top-level Nones.

Stack policies get each resource's outputs (pulumi ``pkg/resource/deploy/step_generator.go``
``AnalyzeResources``: "AnalyzeStack is called on the final outputs of each resource"), a component's
outputs are what ``MlComponent.finish`` registers, and ``register_outputs`` serializes them with
``pulumi/runtime/rpc.py`` ``serialize_properties``, which drops every top-level None ("We treat
properties that serialize to None as if they don't exist"). An endpoint without autoscaling must still
read as fixed at min there, so the pack's answer is plan's (audit guardrails-1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pulumi_policy", reason="the policy extra is not installed (pip install 'mlops-infra[policy]')")

from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from mlops_infra.policy.facts import replica_ceiling
from tests.program.test_policy_pack import analyze, plans_answer, spec_file
from tests.support.guardrails import GUARDED, compiled, edit

RUN2 = edit(GUARDED, ("    replicas: {min: 1, max: 4}\n    autoscaling: {metric: invocations_per_replica, target: 50}\n",
                      "    replicas: {min: 1, max: 8}\n"),
            ("    promote_from: staging\n", "    promote_from: staging\n    guardrails: {max_gpus: 10, max_hourly_cost_usd: 5}\n"))
"""Endpoint api: 1 A10G, replicas 1-8, no autoscaling (runs 1 fixed); prod caps 10 GPUs and $5/h. The cap counts an
endpoint at its update's peak since pricing45-5 (72f79ab7): its canary's finish runs the fleet, the fleet again and
the canary's last size, 3 x ml.g5.xlarge = $4.23/h, under $5; read at max replicas (8 at that peak: 24) it would not
be. It was $3 (the running instance only, $1.41/h) until the pack and plan both counted the update fleet."""


def endpoint_facts(text: str) -> dict:
    _, graph = compiled(text, "prod")
    return next(r.inputs for r in graph.resources if r.type == "mlops:serving:Endpoint")


def test_the_sdk_keeps_the_no_autoscaling_reading_of_an_endpoints_facts() -> None:
    facts = endpoint_facts(RUN2)
    sent = json_format.MessageToDict(_sync_await(rpc.serialize_properties(facts, {})))
    assert sent["autoscaling"] is False
    assert replica_ceiling(sent) == replica_ceiling(facts) == 1


def test_the_pack_and_plan_agree_on_a_fixed_endpoint_with_a_wider_range(tmp_path: Path) -> None:
    path = spec_file(tmp_path, RUN2)
    _, graph = compiled(RUN2, "prod")
    found, _ = analyze(path, graph, "prod")
    assert found == plans_answer(RUN2, "prod", graph) == set()  # 8 cluster + 1 endpoint GPUs, $4.23/h at its update


def test_the_pack_and_plan_agree_when_the_fixed_endpoint_breaks_the_caps(tmp_path: Path) -> None:
    text = edit(RUN2, ("    replicas: {min: 1, max: 8}\n", "    replicas: {min: 3, max: 8}\n"),
                ("max_gpus: 10, max_hourly_cost_usd: 5", "max_gpus: 10, max_hourly_cost_usd: 1"))
    path = spec_file(tmp_path, text)
    _, graph = compiled(text, "prod")
    found, _ = analyze(path, graph, "prod")
    expected = plans_answer(text, "prod", graph)
    assert {rule for rule, *_ in expected} == {"max_gpus", "max_hourly_cost_usd"}
    assert any("1 GPU(s) x 3 replica(s)" in message for *_, message in expected)
    assert found == expected
