"""What the Pulumi engine sends a policy pack: an ``AnalyzeStackRequest`` built from a desired graph.

Each resource with its type, URN, name, parent, dependencies and properties as a protobuf ``Struct``
(numbers as doubles); values known only after apply (refs to other resources' outputs) as Pulumi's
unknown sentinel, as during a preview; code archives as a placeholder (no rule reads them).
A component's properties are its registered outputs (the facts) without their top-level Nones: the
engine passes each resource's outputs (pulumi ``pkg/resource/deploy/step_generator.go``
``AnalyzeResources``: "AnalyzeStack is called on the final outputs of each resource") and the Python
SDK never sends a top-level None of ``register_outputs`` (``pulumi/runtime/rpc.py``
``serialize_properties``; :func:`~tests.support.pulumi_capture.drop_top_level_nulls`).
"""

from __future__ import annotations

import json

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from mlops_infra.graph import ARCHIVE, DesiredGraph, resolve
from tests.support.pulumi_capture import drop_top_level_nulls


def request_of(graph: DesiredGraph) -> proto.AnalyzeStackRequest:
    """What the engine sends AnalyzeStack for ``graph`` during a preview."""
    resources = []
    for r in graph.resources:
        props = resolve(r.inputs, lambda _urn, _output: UNKNOWN_STRING_VALUE)
        props = json.loads(json.dumps(props, default=str))
        if isinstance(props, dict):
            props = {k: ("<archive>" if isinstance(v, dict) and ARCHIVE in v else v) for k, v in props.items()}
            if not r.custom:
                props = drop_top_level_nulls(props)
        resources.append(proto.AnalyzerResource(
            type=r.type, urn=r.urn, name=r.name, parent=r.parent or "", dependencies=list(r.dependencies),
            properties=json_format.ParseDict(props, struct_pb2.Struct())))
    return proto.AnalyzeStackRequest(resources=resources)
