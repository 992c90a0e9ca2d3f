"""The namespace is registered as a Patch resource carrying its old URN as an alias (audit firstapply-1 b).

pulumi-kubernetes creates a Patch resource with a server-side apply PATCH (provider/pkg/await/await.go
``Creation``, the ``kinds.IsPatchResource`` branch: ``<kind>Patch`` type tokens), so a namespace the
platform team made first is adopted instead of failing AlreadyExists (4.29.0's client-side create), and
its delete only relinquishes the fields it applied (``Deletion`` -> ``ssa.Relinquish``). A stack applied
before holds a ``kubernetes:core/v1:Namespace`` at the same parent and name: the registration names that
URN as an alias, which the SDK sends to the engine (``Alias{urn}``; pulumi/runtime/resource.py
``prepare_aliases``). Runs the real program under Pulumi's mocks (tests/support/pulumi_capture.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.program import run
from tests.program.test_program_mocks import compiled
from tests.support.pulumi_capture import capture_program, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
PREFIX = "urn:pulumi:dev::churn-quickstart::mlops:core:Platform$"


def test_the_namespace_is_a_namespace_patch_aliased_to_the_old_namespace():
    from pulumi_kubernetes.core.v1 import NamespacePatch

    graph = compiled(QUICKSTART, "dev")
    capture = capture_program(lambda: run(str(QUICKSTART), "dev"), graph.project, graph.stack, referenced_outputs(graph))
    urn = f"{PREFIX}kubernetes:core/v1:NamespacePatch::churn-dev"
    namespace = capture.resources[urn]
    assert capture.result.classes[urn] is NamespacePatch
    assert namespace.options["aliases"] == [f"{PREFIX}kubernetes:core/v1:Namespace::churn-dev"]
    assert namespace.inputs["kind"] == "Namespace" and namespace.inputs["apiVersion"] == "v1"
    assert namespace.inputs["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
    assert namespace.inputs["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "mlops-infra"
    assert not [r for r in capture.resources.values() if r.type == "kubernetes:core/v1:Namespace"]
    namespaced = [r for r in capture.resources.values() if r.custom and r.type.startswith("kubernetes:")
                  and (r.inputs.get("metadata") or {}).get("namespace")]
    assert namespaced and all(urn in r.dependencies for r in namespaced)  # still created after the namespace
