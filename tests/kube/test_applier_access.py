"""The identity that runs ``pulumi up`` must hold what it creates (audit k8srbac-6): the cluster preflight's
SelfSubjectAccessReviews (``mlops_infra/kube/applier_access.py``).

RBAC refuses a Role granting permissions its creator does not hold unless it may ``escalate`` (and a binding of it
unless it may ``bind``), and ClusterQueues/ResourceFlavors are cluster-scoped (kubernetes.io "Using RBAC
Authorization"). The Kubernetes API stand-in answers SelfSubjectAccessReviews from the token's rules
(``tests/support/kube_api.py``, "Access reviews")."""

from __future__ import annotations

from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.access_review import Access
from mlops_infra.kube.applier_access import applier_checks, covers, role_grants, writes
from mlops_infra.kube.preflight import preflight
from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import REFERENCE, compiled

FAST = RetryPolicy(attempts=1)
NS = "fraud-dev"
READ_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
NAMESPACE_ADMIN = [
    {"apiGroups": ["", "apps", "batch", "networking.k8s.io", "serving.kserve.io", "serving.knative.dev",
                   "monitoring.coreos.com"], "resources": ["*"], "verbs": ["*"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": READ_WRITE},
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues"], "verbs": ["*"]},
]
"""What the namespace ``admin`` role gives on a cluster with KServe, Knative and prometheus-operator aggregating into
it: ``roles``/``rolebindings`` read-write without ``escalate`` or ``bind`` (kubernetes ``bootstrappolicy/policy.go``
``system:aggregate-to-admin``: ``NewRule(ReadWrite...).Groups(rbacGroup).Resources("roles", "rolebindings")``), no
kubeflow.org or cluster-scoped Kueue rights (the stand-in's token rules hold in every namespace)."""
KUBEFLOW = {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"], "verbs": ["create", "delete", "get", "list"]}
QUEUES = {"apiGroups": ["kueue.x-k8s.io"], "resources": ["clusterqueues", "resourceflavors"], "verbs": ["create", "patch"]}


def _checks(rules):
    graph = compiled(REFERENCE, "dev")
    with KubeApiStandIn(tokens={"t": rules}) as api, KubeClient.from_url(api.url, token="t", retry=FAST) as kube:
        return applier_checks(kube, graph)


def test_what_the_reference_graph_needs_to_write():
    graph = compiled(REFERENCE, "dev")
    needed = writes(graph)
    assert needed[Access("create", "kueue.x-k8s.io", "clusterqueues")] == ["ClusterQueue"]
    assert needed[Access("patch", "kueue.x-k8s.io", "resourceflavors")] == ["ResourceFlavor"]
    assert needed[Access("create", "rbac.authorization.k8s.io", "roles", NS)] == ["Role"]
    assert needed[Access("patch", "", "namespaces", None, NS)] == ["Namespace"]
    launcher = next(grants for _, name, grants in role_grants(graph) if name == "mlops-training-launcher")
    assert launcher == [Access(v, "kubeflow.org", "pytorchjobs", NS) for v in ("create", "delete", "get", "list")]


def test_a_namespace_admin_misses_the_cluster_queues_and_the_launcher_roles_rights():
    write, launcher = _checks(NAMESPACE_ADMIN)
    assert write[1] == "refused" and write[0].name == "the applier's rights to write this environment's objects"
    assert ("may not create clusterqueues.kueue.x-k8s.io at the cluster scope (for ClusterQueue); "
            "create resourceflavors.kueue.x-k8s.io at the cluster scope (for ResourceFlavor)") in write[2]
    assert "bind the applier to a ClusterRole with the rules" in write[0].enable
    assert launcher[0].name == f"the applier's rights to create Role {NS}/mlops-training-launcher"
    assert launcher[2].startswith(f"Role {NS}/mlops-training-launcher grants create pytorchjobs.kubeflow.org, "
                                  "delete pytorchjobs.kubeflow.org, get pytorchjobs.kubeflow.org, list pytorchjobs")
    assert '{apiGroups: ["kubeflow.org"], resources: [pytorchjobs], verbs: [create, delete, get, list]}' in launcher[0].enable


def test_escalate_and_bind_on_the_role_excuse_its_rules_and_the_cluster_rights_clear_the_rest():
    escalate = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                "resourceNames": ["mlops-training-launcher"], "verbs": ["escalate", "bind"]}
    (write,) = _checks([*NAMESPACE_ADMIN, escalate])
    assert write[0].name == "the applier's rights to write this environment's objects"
    assert _checks([*NAMESPACE_ADMIN, KUBEFLOW, QUEUES]) == []


def test_escalate_without_bind_is_not_enough():
    escalate = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}
    found = _checks([*NAMESPACE_ADMIN, QUEUES, escalate])
    assert [c[0].name for c in found] == [f"the applier's rights to create Role {NS}/mlops-training-launcher"]


def test_the_preflight_warns_before_apply_and_says_nothing_for_an_identity_that_may_do_everything():
    graph = compiled(REFERENCE, "dev")
    with KubeApiStandIn(tokens={"t": NAMESPACE_ADMIN}) as api, KubeClient.from_url(api.url, token="t", retry=FAST) as kube:
        warnings = [r.warning() for r in preflight(kube, cluster_prerequisites(graph), graph)]
    found = [w for w in warnings if w and ("SelfSubjectAccessReview" in w or "SelfSubjectRulesReview" in w)]
    assert len(found) == 2
    assert found[0].startswith("cluster preflight: the identity of this context may not create clusterqueues")
    assert found[1].startswith(f"cluster preflight: Role {NS}/mlops-training-launcher grants create pytorchjobs")
    assert _checks(None) == []


def _webhook_checks(rbac, webhook):
    graph = compiled(REFERENCE, "dev")
    with (KubeApiStandIn(tokens={"t": rbac}, webhook_rules={"t": webhook}) as api,
          KubeClient.from_url(api.url, token="t", retry=FAST) as kube):
        return applier_checks(kube, graph)


def test_a_right_from_a_webhook_authorizer_does_not_count_for_the_launcher_role():
    # audit closing-45b-2: SelfSubjectAccessReview allows create pytorchjobs through the webhook (EKS access policy),
    # but Role creation's escalation check compares with the RBAC rules only (ConfirmNoEscalation -> RulesFor)
    (launcher,) = _webhook_checks([*NAMESPACE_ADMIN, QUEUES], [KUBEFLOW])
    assert launcher[0].name == f"the applier's rights to create Role {NS}/mlops-training-launcher"
    assert launcher[1] == "unknown"
    assert launcher[2].startswith(f"could not check Role {NS}/mlops-training-launcher: it grants create "
                                  "pytorchjobs.kubeflow.org")
    assert "(webhook authorizer does not support user rule resolution)" in launcher[2]
    assert "through RBAC" in launcher[0].enable


def test_rbac_rules_that_cover_the_role_or_escalate_and_bind_pass_an_incomplete_rules_review():
    assert _webhook_checks([*NAMESPACE_ADMIN, QUEUES, KUBEFLOW], [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]) == []
    escalate = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                "resourceNames": ["mlops-training-launcher"], "verbs": ["escalate", "bind"]}
    assert _webhook_checks([*NAMESPACE_ADMIN, QUEUES], [KUBEFLOW, escalate]) == []  # escalate: the full authorizer


def test_the_role_is_judged_against_the_rules_review_of_its_namespace():
    graph = compiled(REFERENCE, "dev")
    with (KubeApiStandIn(tokens={"t": [*NAMESPACE_ADMIN, QUEUES, KUBEFLOW]}) as api,
          KubeClient.from_url(api.url, token="t", retry=FAST) as kube):
        assert applier_checks(kube, graph) == []
        (asked,) = api.requests_for("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
    assert asked.body["spec"] == {"namespace": NS}


def test_covers_compares_rules_as_rbac_does():
    pods = Access("get", "", "pods", NS)
    assert covers(({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},), pods)
    assert covers(({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},), pods)
    assert not covers(({"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["get"]},), pods)
    assert not covers(({"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},), pods)
    # resourceCoversAll: */sub covers any resource's sub; pods/* is no wildcard
    assert covers(({"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]},), Access("get", "", "pods/log", NS))
    assert not covers(({"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]},), Access("get", "", "pods/log", NS))
    assert not covers(({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},), Access("get", "", "pods/log", NS))
    # ruleCovers: a rule with names covers only those names, never an unnamed request
    named = ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNames": ["a"]},)
    assert covers(named, Access("get", "", "pods", NS, "a"))
    assert not covers(named, Access("get", "", "pods", NS, "b")) and not covers(named, pods)
    assert covers(({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},), Access("get", "", "pods", NS, "b"))
