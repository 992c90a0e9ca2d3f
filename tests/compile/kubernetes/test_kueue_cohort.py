"""Clusters of one environment in one Kueue cohort lend each other quota (finding closing-32c-3).

Kueue lends per flavor: a pod set fits by borrowing when its request "is less than or equal to the
sum of unused ``nominalQuota`` for the flavor in the ClusterQueues in the cohort" and to "the unused
``nominalQuota + borrowingLimit`` for the flavor in the ClusterQueue"; "A ClusterQueue can only borrow
quota for flavors that the ClusterQueue defines", and "For each pod set resource in a Workload, a
ClusterQueue can only borrow quota for one flavor" (kubernetes-sigs/kueue
``site/content/en/docs/concepts/cluster_queue.md``, "Flavors and borrowing semantics"). :func:`fits`
is that rule, on the compiled ClusterQueues with nothing in use. Before the fix each cluster's queue
named a flavor of its own, so the cohort's quota of each flavor was that one queue's, and a job larger
than its cluster never fitted, however idle its cohort. The compiled objects also validate against
the ClusterQueue CRD (tests/support/crds.py) and its CEL rules that tests/support/crds.py does not
evaluate (checked here by hand).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile.kubernetes import queues as kueue_queues
from mlops_infra.plan.guardrails import evaluate
from mlops_infra.spec import parse_system
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support import crds
from tests.support.kube_cases import compile_text, objects

DOC = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: guarded, owner: ml@example.com}
clusters:
  - {name: train, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}, borrowing: {cohort: team, max_nodes: 2}}
  - {name: t4, accelerator: {type: T4, count: 1}, nodes: {min: 0, max: 2}, borrowing: {cohort: team, max_nodes: 1}}
  - {name: train2, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 3}, borrowing: {cohort: team, max_nodes: 2}}
  - {name: solo, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}}
  - {name: apart, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}, borrowing: {cohort: other, max_nodes: 1}}
  - {name: spot, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}, spot: true, borrowing: {cohort: team, max_nodes: 1}}
training_jobs:
  - {name: big, cluster: train, image: registry.example.com/big:1, nodes: 4}
environments:
  dev:
    target: {kind: kubernetes, context: dev-cluster, namespace: guarded-dev}
    guardrails: {max_gpus: 1}
"""
TRAIN2 = ("  - {name: train2, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 3}, "
          "borrowing: {cohort: team, max_nodes: 2}}\n")
SHARED = "guarded-dev-team-d502b71"
"""The flavor train and train2 share (cohort team, A10G x 4 on demand): ``<system>-<env>-<cohort>-<digest>``
(queues.flavor_name, audit k8sapply-3; outside lenders define quota for this name, so it is pinned)."""
OWN = {"t4": "guarded-dev-team-cf6803b", "solo": "guarded-dev-solo", "apart": "guarded-dev-other-5bdbc73",
       "spot": "guarded-dev-team-f964253"}
"""The flavor of each other cluster: another node type of cohort team, no cohort, cohort other, spot nodes."""


def quantity(text: str) -> int:
    """The quantities the compiler writes: whole numbers, and ``<n>Gi``."""
    return int(text.removesuffix("Gi")) * 2**30 if text.endswith("Gi") else int(text)


def kueue(graph) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for _, o in objects(graph) if o["apiVersion"].startswith("kueue.")}


def cluster_queues(graph) -> dict[str, dict[str, Any]]:
    return {name: o for (kind, name), o in kueue(graph).items() if kind == "ClusterQueue"}


def flavors_of(queue: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Flavor name -> resource name -> its quota entry, of one ClusterQueue."""
    return {f["name"]: {r["name"]: r for r in f["resources"]}
            for group in queue["spec"]["resourceGroups"] for f in group["flavors"]}


def fits(queues: dict[str, dict[str, Any]], name: str, request: dict[str, str]) -> str | None:
    """The flavor in which ``request`` (one pod set: resource -> quantity) fits ClusterQueue ``name``,
    with nothing in use anywhere, by Kueue's rule (the module docstring); None: no flavor."""
    cohort = queues[name]["spec"].get("cohortName")
    siblings = [q for other, q in queues.items() if other != name and cohort and q["spec"].get("cohortName") == cohort]
    for flavor, resources in flavors_of(queues[name]).items():
        if all(fits_flavor(resources.get(resource), amount, cohort,
                           [flavors_of(q).get(flavor, {}).get(resource) for q in siblings])
               for resource, amount in request.items()):
            return flavor
    return None


def fits_flavor(quota: dict[str, Any] | None, amount: str, cohort: str | None,
                lenders: list[dict[str, Any] | None]) -> bool:
    """One resource of a pod set in one flavor: ``quota`` is the queue's entry, ``lenders`` the cohort's
    other queues' entries for that flavor and resource (None where they define none)."""
    if quota is None:
        return False
    own, wanted = quantity(quota["nominalQuota"]), quantity(amount)
    if wanted <= own:
        return True
    lendable = own + sum(quantity(q["nominalQuota"]) for q in lenders if q is not None)
    limit = own + quantity(quota["borrowingLimit"]) if "borrowingLimit" in quota else None
    return bool(cohort) and wanted <= lendable and (limit is None or wanted <= limit)


def nodes(text: str, cluster: str, count: int) -> dict[str, str]:
    """What a run of ``count`` nodes of ``cluster`` requests: one training pod per node
    (``compile/kubernetes/training.py``: each pod requests what one node provides)."""
    system = parse_system(text, env="dev").system
    return kueue_queues.quotas_of(next(c for c in system.clusters if c.name == cluster), count)


def test_a_run_larger_than_its_cluster_fits_in_what_an_idle_cluster_of_its_cohort_lends() -> None:
    queues = cluster_queues(compile_text(DOC))
    # train (max 2 nodes, may borrow 2) gets train2's unused quota: 4 nodes fit, 5 do not (its limit)
    assert fits(queues, "guarded-dev-train", nodes(DOC, "train", 4)) == SHARED
    assert fits(queues, "guarded-dev-train", nodes(DOC, "train", 5)) is None
    assert fits(queues, "guarded-dev-train2", nodes(DOC, "train2", 5)) == SHARED
    # clusters that share no flavor lend nothing: their max nodes is all they get
    for other in ("t4", "solo", "apart", "spot"):
        assert fits(queues, f"guarded-dev-{other}", nodes(DOC, other, 2)) == OWN[other]
        assert fits(queues, f"guarded-dev-{other}", nodes(DOC, other, 3)) is None


def test_clusters_of_one_node_type_in_one_cohort_share_one_flavor_each_with_its_own_quota() -> None:
    graph = compile_text(DOC)
    queues = cluster_queues(graph)
    flavor_names = {name for (kind, name) in kueue(graph) if kind == "ResourceFlavor"}
    assert set(flavors_of(queues["guarded-dev-train"])) == {SHARED}
    assert set(flavors_of(queues["guarded-dev-train2"])) == {SHARED}  # same cohort, same node type
    assert flavor_names == {SHARED, *OWN.values()}  # one flavor per node type of the cohort
    for other in ("t4", "solo", "apart", "spot"):  # another node type, no cohort, another cohort, spot nodes
        assert set(flavors_of(queues[f"guarded-dev-{other}"])) == {OWN[other]}
    assert flavors_of(queues["guarded-dev-train"])[SHARED]["nvidia.com/gpu"] == {
        "name": "nvidia.com/gpu", "nominalQuota": "8", "borrowingLimit": "8"}
    assert flavors_of(queues["guarded-dev-train2"])[SHARED]["nvidia.com/gpu"] == {
        "name": "nvidia.com/gpu", "nominalQuota": "12", "borrowingLimit": "8"}


def test_the_first_cluster_in_the_document_owns_the_shared_flavor_and_the_queues_depend_on_it() -> None:
    swapped = DOC.replace(TRAIN2, "").replace("clusters:\n", "clusters:\n" + TRAIN2)
    assert swapped != DOC
    graph = compile_text(swapped)
    queues = {r.name: r for r in graph.resources if r.type == "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"}
    flavors = {r.name: r for r in graph.resources if r.type == "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"}
    assert flavors[SHARED].address == "clusters.train2"  # compiled with train2, named as before the swap
    for name in ("guarded-dev-train", "guarded-dev-train2"):
        assert set(flavors_of(queues[name].inputs)) == {SHARED}
        assert flavors[SHARED].urn in queues[name].dependencies


def test_the_cohort_queues_validate_against_the_clusterqueue_crd_and_its_cel_rules() -> None:
    objs = kueue(compile_text(DOC))
    flavor_names = {name for (kind, name) in objs if kind == "ResourceFlavor"}
    checked = 0
    for (kind, name), obj in objs.items():
        if kind == "ResourceFlavor":
            continue
        assert crds.errors(obj) == [], name
        if kind != "ClusterQueue":
            continue
        for group in obj["spec"]["resourceGroups"]:
            for f in group["flavors"]:
                # "flavors must have the same number of resources as the coveredResources"
                assert [r["name"] for r in f["resources"]] == group["coveredResources"]
                assert f["name"] in flavor_names  # a flavor that does not exist keeps the queue inactive
                # "borrowingLimit must be nil when cohort is empty"
                assert "cohortName" in obj["spec"] or all("borrowingLimit" not in r for r in f["resources"])
                checked += 1
    assert checked == 6


def test_max_gpus_still_counts_each_cluster_with_what_it_may_borrow() -> None:
    """d48e9f5's count (GPUs per node x (max nodes + borrowing.max_nodes)) stays an upper bound: what a
    queue borrows from its cohort siblings is their nominal quota, counted with them, and a queue outside
    mlops-infra may lend up to the borrowing limit."""
    system = parse_system(DOC, env="dev").system
    (result,) = [r for r in evaluate(compile_text(DOC), guardrail_settings(system, "dev")) if r.rule == "max_gpus"]
    (finding,) = result.findings
    # train 4 x (2 + 2), t4 1 x (2 + 1), train2 4 x (3 + 2), solo 4 x 2, apart 4 x (2 + 1), spot 4 x (2 + 1)
    assert finding.message.startswith(f"dev uses {16 + 3 + 20 + 8 + 12 + 12} GPUs at full scale"), finding.message


def test_a_deleted_cluster_queue_waits_the_providers_default_which_the_drain_matches() -> None:
    """No ``pulumi.com/timeoutSeconds`` annotation (pulumi-kubernetes ``metadata.TimeoutDuration``: the
    resource's custom timeout, else that annotation, else ``await.Deletion``'s 10 minutes) and no custom
    timeout option: the delete waits 10 minutes, as long as ``apply --drain-queues`` waits before it."""
    from mlops_infra.apply import queue_drain

    graph = compile_text(DOC)
    queues = [r for r in graph.resources if r.type == "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"]
    assert len(queues) == 6
    for r in queues:
        assert "pulumi.com/timeoutSeconds" not in (r.inputs["metadata"].get("annotations") or {})
        assert "customTimeouts" not in r.options.to_json()
    assert queue_drain.DRAIN_TIMEOUT == 10 * 60


def test_the_oversize_run_warning_says_the_quota_must_be_of_its_node_type() -> None:
    """validate's too-many-nodes warning (spec/hardware.py, finding B7) names where lendable quota comes from."""
    found = [d for d in parse_system(DOC, env="dev").diagnostics if d.code == "too-many-nodes"]
    assert [d.severity for d in found] == ["warning"]
    assert "2 nodes' worth of quota of its node type unused" in found[0].summary
    assert "Kueue lends per flavor: the cohort's clusters with the same node type" in found[0].summary
