"""Whether the identity that runs ``pulumi up`` may write what the graph holds (audit k8srbac-6).

``pulumi up`` writes every Kubernetes object of the graph with the identity of the environment's kubeconfig context
(the one ``plan --refresh`` reads through). pulumi-kubernetes v4 writes by server-side apply, a ``PATCH``
(pulumi-kubernetes "Managing Resources with Server-Side Apply": "It is now possible to 'Upsert' resources; create the
resource if it does not exist, or apply the configuration to an existing resource"), and an apply that creates the
object is authorized as ``create`` as well (k8s.io/apiserver ``pkg/endpoints/handlers/patch.go``:
``createAuthorizerAttributes``, ``Verb: "create"``): so each kind needs ``create`` and ``patch`` at its scope, the
namespace's objects in it, ClusterQueues and ResourceFlavors (``kueue.x-k8s.io``, cluster-scoped) at the cluster
scope, which no namespace role can grant. The namespace itself is patched (``NamespacePatch``): ``get`` and
``patch`` on that Namespace.

**RBAC escalation prevention** (kubernetes.io "Using RBAC Authorization", "Restrictions on role creation or update"):
"You can only create/update a role if at least one of the following things is true: 1. You already have all the
permissions contained in the role, at the same scope as the object being modified (cluster-wide for a ClusterRole,
within the same namespace or cluster-wide for a Role). 2. You are granted explicit permission to perform the
``escalate`` verb on the roles or clusterroles resource in the rbac.authorization.k8s.io API group"; and a
RoleBinding needs the permissions of the role it binds, or the ``bind`` verb on it ("Restrictions on role binding
creation or update"). The built-in ``admin`` role has no ``escalate`` or ``bind`` and holds ``kubeflow.org`` rights
only where a ClusterRole aggregates them into it (the training operator's standalone install does not), so a
namespace admin's ``pulumi up`` stops part-way at Role ``mlops-training-launcher`` ("is attempting to grant RBAC
permissions not currently held").

The object writes are asked of the API server: one SelfSubjectAccessReview per access
(:mod:`mlops_infra.kube.access_review`; any authenticated user may create one, and it is judged with the caller's
whole identity, groups and all, by every authorizer the cluster runs, as ``kubectl auth can-i`` is).

**A Role's rules are judged against RBAC rules only** (audit closing-45b-2). Creating a Role runs the escalation
check unless the creator may ``escalate`` (kubernetes ``pkg/registry/rbac/role/policybased/storage.go`` ``Create``:
``if rbacregistry.EscalationAllowed(ctx) || rbacregistry.RoleEscalationAuthorized(ctx, s.authorizer)``, else
``ConfirmNoEscalationInternal(ctx, s.ruleResolver, rules)``), and that check compares the Role's rules with the
creator's rules from the RBAC rule resolver (``pkg/registry/rbac/validation/rule.go`` ``ConfirmNoEscalation``:
``ownerRules, err := ruleResolver.RulesFor(user, namespace)``, then ``Covers(ownerRules, rules)``), not with what
the other authorizers allow: a right a webhook authorizer grants (EKS access policies) passes a
SelfSubjectAccessReview and still does not count. So the rules the applier holds in the Role's namespace are read
with a SelfSubjectRulesReview (:func:`mlops_infra.kube.access_review.self_rules`) and each verb x group x
resource (x name) of the Role is judged with :func:`covers`, RBAC's own comparison
(k8s.io/component-helpers ``auth/rbac/validation/policy_comparator.go`` ``ruleCovers``/``resourceCoversAll``). One
not covered is excused when the applier may ``escalate`` and ``bind`` that Role (SelfSubjectAccessReview: the
``escalate`` check and the binding's ``bind`` check go through the full authorizer). When the rules review says
``incomplete`` (an authorizer, such as a webhook, cannot list its rules) the listed rules are not proven to be
exactly what RBAC counts, so an uncovered rule is ``unknown`` ("could not check"), not ``refused``.

Contract of :func:`applier_checks`: nothing when every access is allowed; else ``(Prerequisite, "refused", detail)``
for the object writes not allowed (one, listing each access with the kinds that need it; the fix names the
ClusterRole/Role rules to grant) and one per compiled Role whose rules the applier's RBAC rules do not cover
(``refused``, or ``unknown`` when the rules review is incomplete; the fix: grant those rules through RBAC, or
``escalate`` and ``bind`` on that Role); or one ``unknown`` when a review fails. Not checked:
``delete`` (a removal's), ``get``/``list`` the provider's reads and awaits need, and webhooks' own refusals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlops_infra.compile.kubernetes.prerequisites import Check, Prerequisite
from mlops_infra.kube.access_review import Access, HeldRules, self_may, self_rules
from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.errors import KubeError, KubeUnreachable
from mlops_infra.kube.resources import resource_type

RBAC_GROUP = "rbac.authorization.k8s.io"
SOURCE = ("kubernetes.io Using RBAC Authorization (privilege escalation prevention); kubernetes "
          "pkg/registry/rbac/validation/rule.go ConfirmNoEscalation; k8s.io/apiserver "
          "pkg/endpoints/handlers/patch.go; pulumi-kubernetes server-side apply")
WRITE_VERBS = ("create", "patch")


def _objects(graph: Any) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(address, object, is a NamespacePatch) of each Kubernetes object the graph writes."""
    for r in graph.resources:
        obj = r.inputs if isinstance(r.inputs, dict) else {}
        if r.type.startswith("kubernetes:") and obj.get("kind") and obj.get("apiVersion"):
            yield r.address, obj, r.type.endswith(":NamespacePatch")


def writes(graph: Any) -> dict[Access, list[str]]:
    """Each access ``pulumi up`` needs to write the graph's objects, with the kinds that need it (module docstring)."""
    out: dict[Access, list[str]] = {}
    for _, obj, patch in _objects(graph):
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or None
        rtype = resource_type(obj["apiVersion"], obj["kind"], namespaced=namespace is not None)
        scope = namespace if rtype.namespaced else None
        needed = ([Access("get", "", "namespaces", None, meta.get("name")), Access("patch", "", "namespaces", None,
                                                                                     meta.get("name"))]
                  if patch else [Access(verb, rtype.group, rtype.plural, scope) for verb in WRITE_VERBS])
        for access in needed:
            kinds = out.setdefault(access, [])
            if obj["kind"] not in kinds:
                kinds.append(obj["kind"])
    return out


def role_grants(graph: Any) -> list[tuple[str, str, list[Access]]]:
    """(namespace, name, accesses) of each compiled Role: every verb x group x resource (x name) its rules grant."""
    out = []
    for _, obj, _ in _objects(graph):
        if obj["kind"] != "Role" or not obj["apiVersion"].startswith(RBAC_GROUP + "/"):
            continue
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or graph.metadata.get("namespace"))
        grants = sorted({Access(verb, group, resource, namespace, name)
                         for rule in obj.get("rules") or [] for verb in rule.get("verbs") or []
                         for group in rule.get("apiGroups") or [] for resource in rule.get("resources") or []
                         for name in (rule.get("resourceNames") or [None])})
        out.append((namespace, str(meta.get("name")), grants))
    return sorted(out)


def covers(rules: tuple[dict[str, Any], ...], access: Access) -> bool:
    """Whether one of the PolicyRule-shaped ``rules`` covers ``access``, as RBAC's ``ruleCovers`` judges a broken-down
    rule (module docstring): ``*`` or the verb and the group; ``*``, the resource or, for ``resource/sub``,
    ``*/sub``; a rule with ``resourceNames`` covers only those names, one without covers any."""
    sub = access.resource.partition("/")[2]
    for rule in rules:
        verbs, groups = rule.get("verbs") or [], rule.get("apiGroups") or []
        resources, names = rule.get("resources") or [], rule.get("resourceNames") or []
        if (("*" in verbs or access.verb in verbs) and ("*" in groups or access.group in groups)
                and ("*" in resources or access.resource in resources or (sub and f"*/{sub}" in resources))
                and (not names or (access.name is not None and access.name in names))):
            return True
    return False


def _rules(accesses: list[Access]) -> str:
    """The RBAC rules (flow-style YAML) that grant ``accesses``."""
    by: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for a in accesses:
        by.setdefault((a.group, a.resource, (a.name,) if a.name else ()), set()).add(a.verb)
    rules = []
    for (group, resource, names), verbs in sorted(by.items()):
        named = f", resourceNames: [{names[0]}]" if names else ""
        rules.append(f"{{apiGroups: [\"{group}\"], resources: [{resource}]{named}, verbs: [{', '.join(sorted(verbs))}]}}")
    return ", ".join(rules)


def _write_check(missing: dict[Access, list[str]]) -> tuple[Prerequisite, str, str]:
    cluster = [a for a in missing if a.namespace is None]
    namespaced = [a for a in missing if a.namespace is not None]
    shown = "; ".join(f"{a.shown()} (for {', '.join(kinds)})" for a, kinds in sorted(missing.items()))
    fix = []
    if cluster:
        fix.append(f"bind the applier to a ClusterRole with the rules {_rules(cluster)}")
    for namespace in sorted({str(a.namespace) for a in namespaced}):
        fix.append(f"bind it in namespace {namespace} to a Role with the rules "
                   f"{_rules([a for a in namespaced if a.namespace == namespace])}")
    p = Prerequisite("the applier's rights to write this environment's objects", ("platform",), Check(),
                     "; ".join(fix) + " (check with kubectl auth can-i <verb> <resource> [-n <namespace>])", SOURCE)
    return p, "refused", (f"the identity of this context may not {shown} (SelfSubjectAccessReview), so `pulumi up` "
                          "stops part-way, with the objects before the first refused one created.")


def _role_check(namespace: str, name: str, missing: list[Access], held: HeldRules) -> tuple[Prerequisite, str, str]:
    p = Prerequisite(f"the applier's rights to create Role {namespace}/{name}", ("platform",), Check(),
                     f"grant the applier the rules {_rules(missing)} in namespace {namespace} through RBAC (e.g. a "
                     "ClusterRole aggregated into admin, or a Role bound to it), or escalate and bind on roles "
                     f"(apiGroups [\"{RBAC_GROUP}\"], resourceNames [{name}])", SOURCE)
    shown = ", ".join(f"{a.verb} {a.resource}.{a.group}" if a.group else f"{a.verb} {a.resource}" for a in missing)
    if not held.incomplete:
        return p, "refused", (f"Role {namespace}/{name} grants {shown}, which the RBAC rules of this context's identity "
                              "do not cover there (SelfSubjectRulesReview): RBAC refuses to create a role granting "
                              "permissions its creator does not have (\"is attempting to grant RBAC permissions not "
                              "currently held\"), so `pulumi up` stops part-way at it.")
    why = held.evaluation_error or "an authorizer cannot list its rules"
    return p, "unknown", (f"could not check Role {namespace}/{name}: it grants {shown}, which the RBAC rules listed for "
                          f"this context's identity there do not cover, and the list is incomplete ({why}). A right "
                          "granted by a non-RBAC authorizer (a webhook, e.g. EKS access policies) does not count when "
                          "creating a Role: its escalation check compares the Role's rules with the creator's RBAC "
                          "rules only, so `pulumi up` may stop part-way at it (\"is attempting to grant RBAC "
                          "permissions not currently held\").")


def applier_checks(kube: KubeClient, graph: Any) -> list[tuple[Prerequisite, str, str]]:
    """The applier's missing rights (module contract)."""
    needed, roles = writes(graph), role_grants(graph)
    if not needed:
        return []
    answers: dict[Access, bool] = {}

    def may(access: Access) -> bool:
        if access not in answers:
            answers[access] = self_may(kube, access)
        return answers[access]

    held: dict[str, HeldRules] = {}
    try:
        missing = {a: kinds for a, kinds in sorted(needed.items()) if not may(a)}
        out = [_write_check(missing)] if missing else []
        for namespace, name, grants in roles:
            if namespace not in held:
                held[namespace] = self_rules(kube, namespace)
            lacking = [a for a in grants if not covers(held[namespace].rules, a)]
            excused = lacking and all(may(Access(verb, RBAC_GROUP, "roles", namespace, name)) for verb in ("escalate", "bind"))
            if lacking and not excused:
                out.append(_role_check(namespace, name, lacking, held[namespace]))
    except KubeUnreachable:
        raise
    except KubeError as exc:
        p = Prerequisite("the applier's rights to write this environment's objects", ("platform",), Check(),
                         "check them with kubectl auth can-i create <resource> -n <namespace> and kubectl auth can-i "
                         "--list -n <namespace>", SOURCE)
        return [(p, "unknown", f"a SelfSubjectAccessReview or SelfSubjectRulesReview was refused or failed "
                               f"({exc.summary})")]
    return out
