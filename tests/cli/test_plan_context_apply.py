"""``apply``'s own cluster reads go where its ``pulumi up`` goes (mlops_infra/kube/effective_context.py
``apply_through``/``graph_options``; digestcfg's finding).

The applied fraud-detection example whose gpu-train joins a cohort in dev, so apply deletes a Kueue ResourceFlavor
and first reads who else names it (the set-up of tests/apply/test_flavor_users.py; ``pulumi up`` is replaced by a
recorder). ``stacks/dev/Pulumi.dev.yaml`` overrides the cluster: a plain ``kubernetes:context`` is the context
apply reads (the Kubernetes API stand-in, tests/support/kube_api.py, behind it; the spec's kind-mlops reaches no
server); a ``secure:`` kubeconfig, which only the Pulumi CLI decrypts, refuses the read instead of reading the
spec's cluster (here the stand-in, with no outside user: the old code went on to ``pulumi up``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.apply.test_flavor_users import OLD, apply_with, cluster_queue, stand_in, work  # noqa: F401 (the fixture)


def _kubeconfig(path: Path, spec_server: str, stack_server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-mlops",
        "clusters": [{"name": "spec", "cluster": {"server": spec_server}},
                     {"name": "stack", "cluster": {"server": stack_server}}],
        "users": [{"name": "dev", "user": {"token": "t"}}],
        "contexts": [{"name": "kind-mlops", "context": {"cluster": "spec", "user": "dev"}},
                     {"name": "stack-ctx", "context": {"cluster": "stack", "user": "dev"}}]}))
    return path


def _apply(work: Path, monkeypatch, spec_server: str, stack_server: str, overrides: dict):  # noqa: F811
    (work / "stacks" / "dev" / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": overrides}))
    return apply_with(work, monkeypatch, _kubeconfig(work / "kubeconfig", spec_server, stack_server))


@pytest.mark.timeout(180)
def test_apply_reads_the_stack_configs_context(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in(cluster_queue("other-team-a10g", OLD)) as api:
        result, ups = _apply(work, monkeypatch, "http://127.0.0.1:1", api.url, {"kubernetes:context": "stack-ctx"})
        reads = api.requests_for("GET", "/clusterqueues")
    assert result.code == 1 and "Traceback" not in result.output
    assert ("refusing to apply: this apply deletes 1 Kueue ResourceFlavor(s) that ClusterQueues outside this stack "
            "still name; nothing was applied") in result.stderr
    assert reads and ups == []
    assert "could not read namespace" not in result.stderr  # the namespace-owner check read stack-ctx too


@pytest.mark.timeout(180)
def test_apply_refuses_to_read_another_cluster_than_a_secret_stack_kubeconfigs(work: Path, monkeypatch) -> None:  # noqa: F811
    with stand_in(cluster_queue("unrelated", "some-other-flavor")) as api:
        result, ups = _apply(work, monkeypatch, api.url, api.url,
                             {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext=="}})
        reads = api.requests_for("GET", "/clusterqueues")
        namespace_reads = [r for r in api.requests_for("GET") if r.path == "/api/v1/namespaces/fraud-dev"]
    assert result.code == 1 and "Traceback" not in result.output
    err = " ".join(result.stderr.split())
    assert ("cannot check who names the ResourceFlavors this apply deletes: the stack's kubernetes:kubeconfig in "
            f"{work / 'stacks' / 'dev' / 'Pulumi.dev.yaml'} is a secret") in err
    assert "ciphertext" not in result.output
    assert "namespace owner: not checked: the stack's kubernetes:kubeconfig in" in err
    assert namespace_reads == []
    assert reads == [] and ups == []  # the spec's cluster was not read in its place, and nothing was applied
