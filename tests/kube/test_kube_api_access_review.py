"""The Kubernetes API stand-in answers access reviews from the RBAC objects it holds (``tests/support/kube_api.py``,
"Access reviews"), through the real client (``mlops_infra/kube/access_review.py``)."""

from __future__ import annotations

import pytest

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.kube.access_review import (
    Access,
    self_may,
    service_account_groups,
    service_account_user,
    subject_may,
)
from mlops_infra.kube.errors import KubeError, KubeForbidden
from tests.support.kube_api import KubeApiStandIn

FAST = RetryPolicy(attempts=1)
RBAC = "rbac.authorization.k8s.io/v1"
READ_PODS = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]
SA = service_account_user("monitoring", "prometheus-k8s")


def _binding(kind: str, namespace: str | None, role_kind: str, role: str, subject: dict) -> dict:
    meta = {"name": f"{role}-binding"} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": [subject]}


ACCOUNT = {"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}


def _may(*objects, user=SA, access=Access("list", "", "pods", "team")) -> bool:
    with KubeApiStandIn() as api:
        for obj in objects:
            api.seed(obj)
        with KubeClient.from_url(api.url, retry=FAST) as kube:
            return subject_may(kube, user, access)


def test_a_role_binding_grants_its_roles_rules_in_its_namespace_only():
    role = {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "read", "namespace": "team"}, "rules": READ_PODS}
    binding = _binding("RoleBinding", "team", "Role", "read", ACCOUNT)
    assert _may(role, binding)
    assert not _may(role, binding, access=Access("list", "", "pods", "other"))
    assert not _may(role, binding, access=Access("list", "", "services", "team"))
    assert not _may(role, binding, user=service_account_user("monitoring", "default"))
    assert not _may(binding)  # the Role is missing: nothing granted


def test_cluster_roles_through_either_binding_and_users_and_groups():
    role = {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "read"}, "rules": READ_PODS}
    assert _may(role, _binding("ClusterRoleBinding", None, "ClusterRole", "read", ACCOUNT))
    assert _may(role, _binding("RoleBinding", "team", "ClusterRole", "read", ACCOUNT))
    assert _may(role, _binding("RoleBinding", "team", "ClusterRole", "read", {"kind": "User", "name": "alice"}),
                user="alice")
    with KubeApiStandIn() as api:
        api.seed(role)
        api.seed(_binding("ClusterRoleBinding", None, "ClusterRole", "read", {"kind": "Group", "name": "ops"}))
        with KubeClient.from_url(api.url, retry=FAST) as kube:
            body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                    "spec": {"user": "bob", "groups": ["ops"], "resourceAttributes": {"verb": "watch", "resource": "pods"}}}
            answer = kube.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body, what="review")
    assert answer["status"]["allowed"] is True and answer["spec"]["user"] == "bob"


def test_resource_names_bound_a_rule_to_named_requests():
    role = {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "one", "namespace": "team"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]}]}
    binding = _binding("RoleBinding", "team", "Role", "one", ACCOUNT)
    assert _may(role, binding, access=Access("get", "", "configmaps", "team", "a"))
    assert not _may(role, binding, access=Access("get", "", "configmaps", "team", "b"))
    assert not _may(role, binding, access=Access("get", "", "configmaps", "team"))


def test_a_local_review_must_name_its_own_namespace_and_needs_create_rights():
    with (KubeApiStandIn(tokens={"t": READ_PODS}) as api, KubeClient.from_url(api.url, token="t", retry=FAST) as kube,
          pytest.raises(KubeForbidden) as refused):
        subject_may(kube, SA, Access("list", "", "pods", "team"))
    assert 'cannot create resource "localsubjectaccessreviews" in API group "authorization.k8s.io"' in refused.value.message
    with KubeApiStandIn() as api, KubeClient.from_url(api.url, retry=FAST) as kube, pytest.raises(KubeError) as bad:
        body = {"spec": {"user": SA, "resourceAttributes": {"namespace": "other", "verb": "list", "resource": "pods"}}}
        kube.request("POST", "/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews", body=body,
                     what="review")
    assert bad.value.status == 400 and "must match namespace" in bad.value.message


def test_a_self_review_answers_from_the_tokens_rules_for_any_known_token():
    with KubeApiStandIn(tokens={"t": READ_PODS, "root": None}) as api:
        with KubeClient.from_url(api.url, token="t", retry=FAST) as kube:
            assert self_may(kube, Access("watch", "", "pods", "team"))
            assert not self_may(kube, Access("create", "kueue.x-k8s.io", "clusterqueues"))
        with KubeClient.from_url(api.url, token="root", retry=FAST) as kube:
            assert self_may(kube, Access("create", "kueue.x-k8s.io", "clusterqueues"))
        assert [r.status for r in api.requests_for("POST")] == [201, 201, 201]


SCRAPE = {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "scrape"}, "rules": READ_PODS}


@pytest.mark.parametrize("group", ["system:serviceaccounts", "system:serviceaccounts:monitoring",
                                   "system:authenticated"])
def test_a_service_account_holds_what_its_groups_are_granted(group):
    # audit closing-45b-3: a review with a user and no groups is judged as a member of no group; a ServiceAccount's
    # token carries system:serviceaccounts, system:serviceaccounts:<ns> and system:authenticated
    binding = _binding("ClusterRoleBinding", None, "ClusterRole", "scrape",
                       {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group})
    with KubeApiStandIn() as api:
        api.seed(SCRAPE)
        api.seed(binding)
        with KubeClient.from_url(api.url, retry=FAST) as kube:
            access = Access("list", "", "pods", "team")
            assert subject_may(kube, SA, access, service_account_groups("monitoring"))
            assert not subject_may(kube, SA, access)  # the API's reading of a review without groups
            other = subject_may(kube, service_account_user("other", "p"), access, service_account_groups("other"))
            assert other is (group != "system:serviceaccounts:monitoring")  # a namespace's group is its own
        sent = api.requests_for("POST", "/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews")
    assert sent[0].body["spec"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:monitoring",
                                              "system:authenticated"]


def test_a_rules_review_lists_the_tokens_rules_and_a_webhook_makes_it_incomplete():
    from mlops_infra.kube.access_review import self_rules

    with (KubeApiStandIn(tokens={"t": READ_PODS}, webhook_rules={"t": [{"apiGroups": ["*"], "resources": ["*"],
                                                                       "verbs": ["*"]}]}) as api,
          KubeClient.from_url(api.url, token="t", retry=FAST) as kube):
        held = self_rules(kube, "team")
        assert held.rules == ({"verbs": ["list", "watch"], "apiGroups": [""], "resources": ["pods"]},)
        assert held.incomplete and held.evaluation_error == "webhook authorizer does not support user rule resolution"
        assert self_may(kube, Access("create", "kubeflow.org", "pytorchjobs", "team"))  # the webhook allows it
    with KubeApiStandIn() as api, KubeClient.from_url(api.url, retry=FAST) as kube:
        held = self_rules(kube, "team")
        assert held.rules == ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},) and not held.incomplete
