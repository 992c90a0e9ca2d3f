"""The program registers the AWS provider with ``ignoreTags`` as compiled (lead finding, 2026-12-04).

Under Pulumi's mocks (``pulumi.runtime.set_mocks``, :mod:`tests.support.pulumi_capture`): the explicit
``pulumi_aws.Provider`` gets the compiled ``ignoreTags`` through its ``ignore_tags`` argument, which
the SDK sends JSON-encoded (``pulumi.runtime.to_json``, ``pulumi_aws/provider.py``); stack-config
overrides (``aws:endpoints`` for a local moto server) keep it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.compile.aws.provider import ignore_tags
from mlops_infra.program import run
from tests.compile.aws.cases import REFERENCE, compiled
from tests.support.pulumi_capture import capture_program, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PROVIDER = "pulumi:providers:aws"


def _provider_inputs(config: dict[str, str] | None = None) -> dict:
    graph = compiled(Path(REFERENCE), "prod")
    capture = capture_program(lambda: run(str(REFERENCE), "prod"), graph.project, graph.stack,
                              referenced_outputs(graph), config)
    [provider] = [r for r in capture.resources.values() if r.type == PROVIDER]
    return provider.inputs


def test_the_provider_is_registered_with_the_compiled_ignore_tags() -> None:
    sent = _provider_inputs()["ignoreTags"]
    assert isinstance(sent, str) and json.loads(sent) == ignore_tags()


def test_stack_config_overrides_keep_ignore_tags() -> None:
    endpoints = json.dumps([{"sagemaker": "http://localhost:5000"}])
    inputs = _provider_inputs({"aws:endpoints": endpoints})
    assert json.loads(inputs["endpoints"]) == json.loads(endpoints)
    assert json.loads(inputs["ignoreTags"]) == ignore_tags()
