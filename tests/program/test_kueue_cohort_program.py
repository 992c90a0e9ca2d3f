"""The Pulumi program registers a cohort's shared Kueue flavor and the queues that name it from other
clusters' components (compile/kubernetes/queues.py, finding closing-32c-3), exactly as compiled, under
mocks: the dependency of a later cluster's ClusterQueue on the first cluster's ResourceFlavor is a
dependency across components, registered after the flavor."""

from __future__ import annotations

from mlops_infra.program import register_graph
from mlops_infra.program.register import registration_order
from tests.compile.kubernetes.test_kueue_cohort import DOC, SHARED
from tests.support.kube_cases import compile_text
from tests.support.pulumi_capture import capture_program, differences, referenced_outputs


def test_the_program_registers_the_shared_flavor_before_every_queue_that_names_it() -> None:
    graph = compile_text(DOC)
    capture = capture_program(lambda: register_graph(graph), graph.project, graph.stack, referenced_outputs(graph))
    assert differences(graph, capture) == []
    order = registration_order(graph.resources)
    flavor = next(r.urn for r in graph.resources if r.type.endswith(":ResourceFlavor") and r.name == SHARED)
    queue = next(r.urn for r in graph.resources if r.type.endswith(":ClusterQueue") and r.name == "guarded-dev-train2")
    assert order.index(flavor) < order.index(queue)
