"""The Kubernetes replace keys are pulumi-kubernetes' own ``forceNew`` table (audit k8sstate-2).

pulumi-kubernetes' Diff replaces exactly when a changed field matches ``forceNewProperties`` (provider/pkg/provider/
provider.go Diff l. 1560-1568), whose table is diff.go's ``forceNew``. tests/support/pulumi_kubernetes_diff_go.py holds
that diff.go byte for byte at the commit plan/rules.py names; this reads the table out of the Go source (its vars,
``append``, and the three helper functions' property lists) and compares, per group/version/kind, with what
``rule_for`` forces. main listed Service ``spec.type`` (an update: ``-/+`` with an outage that ``up`` never does), PVC
``volumeMode``/``dataSource*``, Job ``completionMode`` and missed Job ``parallelism``/``completions`` and StatefulSet
``revisionHistoryLimit`` (replaces ``up`` does, planned as updates).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from mlops_infra.plan.rules import K8S_PROVIDER_COMMIT, MUTABLE_FLAGS, matcher, rule_for, with_provider_flags
from tests.support.pulumi_kubernetes_diff_go import BLOB, COMMIT, DIFF_GO

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\.\.\.|[A-Za-z_]\w*|[{}(),:+\[\]*.]')


def _tokens(source: str) -> list[str]:
    return _TOKEN.findall(re.sub(r"//[^\n]*", "", source))


def _helper(name: str) -> list[str]:
    """The suffixes a diff.go helper appends to its prefix (``prefix + ".x"``), in order."""
    body = re.search(rf"func (?:\([^)]*\) )?{name}\(.*?\n}}\n", DIFF_GO, re.S)
    assert body, name
    return re.findall(r'prefix \+ "([^"]+)"', body.group(0))


class _Go:
    """Evaluates diff.go's table expressions: composite literals, ``append(a, b...)``, helper calls, var names."""

    def __init__(self) -> None:
        self.sources = {m.group(1): m.end() for m in re.finditer(r"^var (\w+) = ", DIFF_GO, re.M)}
        self.vars: dict[str, object] = {}

    def var(self, name: str) -> object:
        """A package var's value (Go allows use before the declaration: evaluated on demand)."""
        if name not in self.vars:
            saved = getattr(self, "toks", None), getattr(self, "at", 0)
            self.toks, self.at = _tokens(DIFF_GO[self.sources[name]:]), 0
            self.vars[name] = self.expr()
            self.toks, self.at = saved
        return self.vars[name]

    def take(self, expected: str | None = None) -> str:
        token = self.toks[self.at]
        assert expected is None or token == expected, (expected, token, self.toks[self.at - 5:self.at + 5])
        self.at += 1
        return token

    def expr(self) -> object:
        head = self.take()
        if head == "append":
            self.take("(")
            base = list(self.expr())
            self.take(",")
            base += self.expr()
            self.take("...")
            if self.toks[self.at] == ",":
                self.take(",")
            self.take(")")
            return base
        if head == "properties" and self.toks[self.at] == "{":
            return self.items("{", "}", self.string)
        if head in ("_groups", "_versions", "_kinds"):
            return dict(self.items("{", "}", self.entry))
        if self.toks[self.at] == "(":  # a helper call with string arguments
            args = self.items("(", ")", self.string)
            return [prefix + suffix for prefix in args for suffix in _helper(head)]
        return self.var(head)

    def items(self, open_: str, close: str, read: Callable[[], Any]) -> list[Any]:
        """``open_ item, item, ... close`` (a trailing comma allowed): each item as ``read`` reads it."""
        self.take(open_)
        out = []
        while self.toks[self.at] != close:
            out.append(read())
            if self.toks[self.at] == ",":
                self.take(",")
        self.take(close)
        return out

    def string(self) -> str:
        return self.take()[1:-1]

    def entry(self) -> tuple[str, object]:
        key = self.string()
        self.take(":")
        return key, self.expr()


@cache
def _provider_table() -> dict[str, set[str]]:
    """Type token -> the paths pulumi-kubernetes forces (identity included: ``metadataForceNewProperties``), plan
    notation. ConfigMap and Secret are handled by forceNewProperties' own branches (tested below)."""
    go = _Go()
    identity = [prefix + suffix for prefix in (".metadata",) for suffix in _helper("metadataForceNewProperties")]
    table: dict[str, set[str]] = {}
    for group, versions in go.var("forceNew").items():
        for version, kinds in versions.items():
            for kind, paths in kinds.items():
                token = f"kubernetes:{group or 'core'}/{version}:{kind}"
                table[token] = {p.removeprefix(".") for p in [*identity, *paths]}
    return table


def _forced(token: str) -> set[str]:
    rule = rule_for(token)
    paths = rule.replace if rule.provider_replace is None else rule.provider_replace
    return {p for p in paths if p not in ("apiVersion", "kind")}  # a kind change is another URN, never a diff


def test_the_copy_is_the_providers_diff_go_at_the_named_commit():
    data = DIFF_GO.encode()
    assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == BLOB  # git blob id
    assert COMMIT == K8S_PROVIDER_COMMIT


def test_the_table_is_read_from_the_source():
    table = _provider_table()
    assert len(table) >= 20
    assert table["kubernetes:core/v1:Service"] == {"metadata.name", "metadata.namespace", "spec.clusterIP"}
    assert "spec.containers[*].env.value" in table["kubernetes:core/v1:Pod"]


@pytest.mark.parametrize("token", sorted(_provider_table()))
def test_every_kind_of_the_provider_table_forces_what_the_provider_forces(token):
    expected = _provider_table()[token]
    if token == "kubernetes:core/v1:Secret":  # forceNewProperties' Secret branch comes first (diff.go l. 28-29)
        expected |= {"stringData", "data"}
    assert _forced(token) == expected


def test_a_configmap_forces_its_data_unless_the_provider_makes_it_mutable():
    """diff.go l. 32: ``clients.IsConfigMap(obj) && (!k.enableConfigMapMutable || clients.IsImmutable(obj))``."""
    assert re.search(r"clients\.IsConfigMap\(obj\) && \(!k\.enableConfigMapMutable \|\| clients\.IsImmutable\(obj\)\)",
                     DIFF_GO)
    assert re.search(r'props = append\(props, properties\{"\.binaryData", "\.data"\}\.\.\.\)', DIFF_GO)
    token = "kubernetes:core/v1:ConfigMap"
    rule = rule_for(token)
    assert _forced(token) == {"metadata.name", "metadata.namespace", "binaryData", "data"}
    mutable = with_provider_flags(token, rule, {"enableConfigMapMutable": "true"}, {"data": {"a": "1"}})
    assert not matcher(mutable.replace).touches(("data", "a"))
    assert matcher(mutable.replace).touches(("metadata", "name"))
    assert with_provider_flags(token, rule, {"enableConfigMapMutable": "true"}, {"immutable": True}) is rule
    assert with_provider_flags(token, rule, {"enableConfigMapMutable": "false"}, {}) is rule
    assert with_provider_flags(token, rule, None, {}) is rule
    secret = with_provider_flags("kubernetes:core/v1:Secret", rule_for("kubernetes:core/v1:Secret"),
                                 {"enableSecretMutable": "true"}, {})
    assert set(secret.replace) - {"apiVersion", "kind"} == {"metadata.name", "metadata.namespace", "type"}
    assert set(MUTABLE_FLAGS) == {"kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret"}


@pytest.mark.parametrize(("token", "path", "forces"), [
    ("kubernetes:core/v1:Service", ("spec", "type"), False),
    ("kubernetes:core/v1:Service", ("spec", "clusterIPs"), False),
    ("kubernetes:core/v1:Service", ("spec", "clusterIP"), True),
    ("kubernetes:core/v1:PersistentVolumeClaim", ("spec", "volumeMode"), False),
    ("kubernetes:core/v1:PersistentVolumeClaim", ("spec", "dataSource"), False),
    ("kubernetes:batch/v1:Job", ("spec", "parallelism"), True),
    ("kubernetes:batch/v1:Job", ("spec", "completions"), True),
    ("kubernetes:batch/v1:Job", ("spec", "completionMode"), False),
    ("kubernetes:apps/v1:StatefulSet", ("spec", "revisionHistoryLimit"), True),
    ("kubernetes:storage.k8s.io/v1:StorageClass", ("reclaimPolicy",), False),
])
def test_the_audited_paths(token, path, forces):
    assert matcher(rule_for(token).replace).touches(path) is forces
