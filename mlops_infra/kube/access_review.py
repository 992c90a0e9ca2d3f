"""Asking the API server whether an identity may do something: access reviews (``authorization.k8s.io/v1``).

The API server answers with its own authorizers (RBAC, and any webhook or node authorizer the cluster runs), so
the preflight never re-implements RBAC: "SubjectAccessReview checks whether or not a user or group can perform
an action", "LocalSubjectAccessReview checks whether or not a user or group can perform an action in a given
namespace. Having a namespace scoped resource makes it much easier to grant namespace scoped policy that
includes permissions checking", "SelfSubjectAccessReview checks whether or the current user can perform an
action" (Kubernetes API reference, ``authorization.k8s.io/v1``; kubectl's ``auth can-i`` sends the latter).
The answer is ``status.allowed``; ``spec.resourceAttributes`` holds ``namespace``, ``verb``, ``group``,
``resource``, ``subresource`` and ``name`` ("" or absent: all).

Who may ask: a LocalSubjectAccessReview is a ``create`` of ``localsubjectaccessreviews`` in that namespace, which
the built-in ``admin`` role grants (kubernetes ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``,
``system:aggregate-to-admin``: ``NewRule("create").Groups(authorizationGroup).Resources("localsubjectaccessreviews")``,
"additional admin powers"); a SelfSubjectAccessReview any authenticated user may create (the same file, ClusterRole
``system:basic-user``, bound to ``system:authenticated``: ``create`` on ``selfsubjectaccessreviews``). A
LocalSubjectAccessReview may be sent for a namespace that does not exist yet: NamespaceLifecycle admission lets
access reviews through (k8s.io/apiserver ``pkg/admission/plugin/namespace/lifecycle/admission.go``
``accessReviewResources``). A ServiceAccount is the user ``system:serviceaccount:<namespace>:<name>``
(kubernetes.io "Using RBAC Authorization", "Referring to subjects"), which is how RBAC matches a ServiceAccount
subject of a binding.

**Groups** (audit closing-45b-3): a (Local)SubjectAccessReview judges exactly the ``spec.user`` and ``spec.groups``
it is given, "If you specify "User" but not "Groups", then is it interpreted as "What if User were not a member of
any groups"" (Kubernetes API reference, SubjectAccessReviewSpec ``user``). A ServiceAccount token authenticates with
the groups ``system:serviceaccounts`` and ``system:serviceaccounts:<namespace>`` (k8s.io/apiserver
``pkg/authentication/serviceaccount/util.go`` ``MakeGroupNames``: ``AllServiceAccountsGroup``,
``MakeNamespaceGroupName(namespace)``) plus ``system:authenticated``, which the authenticator chain adds to every
authenticated user (k8s.io/apiserver ``pkg/authentication/group/authenticated_group_adder.go``
``AuthenticatedGroupAdder``; kubernetes.io "Authenticating": "The group system:authenticated is included in the
list of groups for all authenticated users"). So a review for a ServiceAccount sends those three groups
(:func:`service_account_groups`); without them a right bound to one of the groups (a ClusterRoleBinding to
``system:serviceaccounts:monitoring``) reads as missing.

**What the identity holds** (audit closing-45b-2): a SelfSubjectRulesReview (``spec.namespace``) lists "the set of
actions the current user can perform within a namespace" as ``status.resourceRules`` (PolicyRule-shaped:
``verbs``, ``apiGroups``, ``resources``, ``resourceNames``), from the authorizers that can list rules (RBAC);
``status.incomplete`` "is true when the rules returned by this call are incomplete. This is most commonly
encountered when an authorizer, such as an external authorizer, doesn't support rules evaluation" (Kubernetes API
reference, SubjectRulesReviewStatus; a webhook authorizer answers "webhook authorizer does not support user rule
resolution", k8s.io/apiserver ``plugin/pkg/authorizer/webhook/webhook.go`` ``RulesFor``). Any authenticated user
may create one (``system:basic-user``: ``create`` on ``selfsubjectaccessreviews``, ``selfsubjectrulesreviews``).

Creating a review stores nothing. Errors are the client's (:mod:`mlops_infra.kube.errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.resources import ResourceType

LOCAL_REVIEW = ResourceType("authorization.k8s.io/v1", "LocalSubjectAccessReview", "localsubjectaccessreviews")
SELF_RULES_REVIEW = ResourceType("authorization.k8s.io/v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
                                 namespaced=False)
SELF_REVIEW = ResourceType("authorization.k8s.io/v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
                           namespaced=False)


@dataclass(frozen=True, order=True)
class Access:
    """One request to authorize: ``verb`` on ``resource`` of API group ``group`` ("" for core), in ``namespace``
    (None: cluster scope), optionally only the object ``name``."""

    verb: str
    group: str
    resource: str
    namespace: str | None = None
    name: str | None = None

    def attributes(self) -> dict[str, str]:
        """``spec.resourceAttributes`` of a review of this access."""
        out = {"verb": self.verb, "group": self.group, "resource": self.resource}
        return out | ({"namespace": self.namespace} if self.namespace else {}) | ({"name": self.name} if self.name else {})

    def shown(self) -> str:
        """``create pytorchjobs.kubeflow.org in fraud-dev`` (for messages)."""
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        return (f"{self.verb} {what}" + (f" named {self.name}" if self.name else "")
                + (f" in {self.namespace}" if self.namespace else " at the cluster scope"))


def service_account_user(namespace: str, name: str) -> str:
    """The user name a ServiceAccount authenticates as (module docstring)."""
    return f"system:serviceaccount:{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    """The groups a ServiceAccount of ``namespace`` authenticates with (module docstring, "Groups")."""
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")


def _allowed(answer: Any) -> bool:
    return ((answer or {}).get("status") or {}).get("allowed") is True


def subject_may(kube: KubeClient, user: str, access: Access, groups: Sequence[str] = ()) -> bool:
    """Whether ``user``, a member of ``groups`` and of no other group, may do ``access`` (a namespaced one): a
    LocalSubjectAccessReview in its namespace. For a ServiceAccount pass :func:`service_account_groups`."""
    if not access.namespace:
        raise ValueError("a LocalSubjectAccessReview needs a namespace: this is a bug in mlops-infra")
    spec: dict[str, Any] = {"user": user} | ({"groups": list(groups)} if groups else {})
    review = {"apiVersion": LOCAL_REVIEW.api_version, "kind": LOCAL_REVIEW.kind,
              "metadata": {"namespace": access.namespace},
              "spec": spec | {"resourceAttributes": access.attributes()}}
    return _allowed(kube.request("POST", LOCAL_REVIEW.path(access.namespace), body=review,
                                 what=f"create a LocalSubjectAccessReview in {access.namespace}"))


def self_may(kube: KubeClient, access: Access) -> bool:
    """Whether the identity of ``kube`` may do ``access``: a SelfSubjectAccessReview."""
    review = {"apiVersion": SELF_REVIEW.api_version, "kind": SELF_REVIEW.kind,
              "spec": {"resourceAttributes": access.attributes()}}
    return _allowed(kube.request("POST", SELF_REVIEW.path(), body=review, what="create a SelfSubjectAccessReview"))


@dataclass(frozen=True)
class HeldRules:
    """A SelfSubjectRulesReview's answer: ``rules`` (its ``resourceRules``), ``incomplete`` and the
    ``evaluation_error`` the server gave ("" when none)."""

    rules: tuple[dict[str, Any], ...]
    incomplete: bool
    evaluation_error: str = ""


def self_rules(kube: KubeClient, namespace: str) -> HeldRules:
    """The rules the identity of ``kube`` holds in ``namespace``: a SelfSubjectRulesReview (module docstring)."""
    review = {"apiVersion": SELF_RULES_REVIEW.api_version, "kind": SELF_RULES_REVIEW.kind, "spec": {"namespace": namespace}}
    answer = kube.request("POST", SELF_RULES_REVIEW.path(), body=review,
                          what=f"create a SelfSubjectRulesReview for {namespace}")
    status = (answer or {}).get("status") or {}
    rules = tuple(r for r in status.get("resourceRules") or [] if isinstance(r, dict))
    return HeldRules(rules, status.get("incomplete") is True, str(status.get("evaluationError") or ""))
