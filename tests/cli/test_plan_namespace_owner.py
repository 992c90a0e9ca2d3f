"""``plan --refresh`` and ``apply`` on Kubernetes refuse a namespace another system or environment applied
to (finding collisions-2; cli/commands/plan.namespace_owner_preflight, plan/namespace_owner.py).

Against the Kubernetes API stand-in (tests/support/kube_api.py, a named stand-in speaking the API
server's protocol), the reference system's dev environment (namespace fraud-dev, context kind-mlops):
a namespace whose ``mlops-infra/system`` label names another system, or whose
``mlops-infra/environment`` label names another environment, is an error at the spec line of the
namespace (exit 1) naming the owner and the fix, and ``apply`` refuses it before ``pulumi up`` (which
is replaced by a recorder: nothing here runs Pulumi) with no write to the cluster. A namespace with this
environment's labels, none, or none at all passes; one the user may not read is a warning that the
check was not made. The labels compared are those the compiled NamespacePatch writes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, write_kubeconfig

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
NAMESPACE, CONTEXT = "fraud-dev", "kind-mlops"
NAMESPACE_LINE = next(i for i, line in enumerate(FRAUD.read_text().splitlines(), 1)
                      if "namespace: fraud-dev" in line)
pytestmark = pytest.mark.usefixtures("no_stray_reads")
no_stray_reads = fixtures.no_stray_reads  # reads a test gives up on end before the next test


def namespace(**labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}}


OTHER_SYSTEM = namespace(**{"mlops-infra/system": "churn-quickstart", "mlops-infra/environment": "dev",
                            "app.kubernetes.io/managed-by": "mlops-infra"})
OTHER_ENVIRONMENT = namespace(**{"mlops-infra/system": "fraud-detection", "mlops-infra/environment": "staging"})
OURS = namespace(**{"mlops-infra/system": "fraud-detection", "mlops-infra/environment": "dev",
                    "app.kubernetes.io/part-of": "fraud-detection", "team": "risk"})
UNLABELLED = namespace(**{"kubernetes.io/metadata.name": NAMESPACE, "team": "risk"})


def _plan(monkeypatch, tmp_path: Path, api: KubeApiStandIn, token: str = "t", *extra: str):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", api.url, token, (CONTEXT,))))
    return run_cli("plan", str(FRAUD), "--env", "dev", "--refresh", "--format", "json", *extra)


def _owner_warnings(stdout: str) -> list[str]:
    return [w for w in json.loads(stdout)["warnings"] if w.startswith("namespace owner")]


@pytest.mark.timeout(120)
def test_plan_refresh_refuses_a_namespace_another_system_applied_to(monkeypatch, tmp_path: Path) -> None:
    with KubeApiStandIn() as api:
        api.seed(OTHER_SYSTEM)
        result = _plan(monkeypatch, tmp_path, api)
        read = api.requests_for("GET", f"/api/v1/namespaces/{NAMESPACE}")
        writes = [(r.method, r.path, r.query) for r in api.requests_for() if r.method != "GET"]
    assert result.code == 1 and "Traceback" not in result.output
    assert result.stdout == ""  # nothing planned
    # no request but GETs: not even the Kueue preflight's dryRun=All create (audit k8strain-2), which persists
    # nothing but runs the namespace's admission chain; the owner check refuses before the other preflights run
    err = " ".join(result.stderr.split())
    assert (f"{FRAUD}:{NAMESPACE_LINE}:" in err and "error: namespace fraud-dev (context kind-mlops) belongs to "
            "system churn-quickstart, environment dev, not to system fraud-detection, environment dev") in err
    assert "mlops-infra/system=churn-quickstart mlops-infra/environment=dev" in err
    assert "fail with AlreadyExists" in err and "Nothing was planned." in err
    assert 'give environments.dev.target.namespace a namespace of its own (for example "fraud-dev-dev")' in err
    assert ("kubectl --context kind-mlops label namespace fraud-dev mlops-infra/system- "
            "mlops-infra/environment-") in err
    assert read and writes == []


@pytest.mark.timeout(120)
def test_plan_refresh_refuses_a_namespace_another_environment_applied_to(monkeypatch, tmp_path: Path) -> None:
    with KubeApiStandIn() as api:
        api.seed(OTHER_ENVIRONMENT)
        result = _plan(monkeypatch, tmp_path, api)
    assert result.code == 1 and "Traceback" not in result.output
    assert ("belongs to system fraud-detection, environment staging, not to system fraud-detection, "
            "environment dev") in " ".join(result.stderr.split())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seeded", [OURS, UNLABELLED, None], ids=["own-labels", "no-labels", "no-namespace"])
def test_plan_refresh_passes_its_own_an_unlabelled_or_a_missing_namespace(monkeypatch, tmp_path: Path,
                                                                         seeded) -> None:
    """The same cluster passes, and is refused once another system's labels are on the namespace: the
    labels alone decide. The refused refresh sends nothing but GETs (the Kueue preflight's dryRun=All
    PyTorchJob create, which the passing refresh does send, is not sent: the owner check comes first;
    stop 41's noticed-and-left, ordered in db33d50f): the requests the stand-in got are counted."""
    with KubeApiStandIn() as api:
        if seeded is not None:
            api.seed(seeded)
        result = _plan(monkeypatch, tmp_path, api)
        dry_runs = [r for r in api.requests_for("POST", "/pytorchjobs") if r.query.get("dryRun") == "All"]
        before = len(api.requests_for())
        api.seed(OTHER_SYSTEM)
        relabelled = _plan(monkeypatch, tmp_path, api)
        refused = api.requests_for()[before:]
    assert result.code == 0, result.stderr
    assert _owner_warnings(result.stdout) == [] and "belongs to" not in result.stderr
    assert [r.path for r in dry_runs] == [f"/apis/kubeflow.org/v1/namespaces/{NAMESPACE}/pytorchjobs"]
    assert relabelled.code == 1 and "belongs to system churn-quickstart" in relabelled.stderr
    assert refused and {r.method for r in refused} == {"GET"}


@pytest.mark.timeout(120)
def test_a_namespace_the_user_may_not_read_is_a_warning_that_the_check_was_not_made(monkeypatch,
                                                                                   tmp_path: Path) -> None:
    rules = [{"apiGroups": ["*"], "verbs": ["*"],  # a team's namespaced kinds, not namespaces
              "resources": ["pods", "configmaps", "secrets", "resourcequotas", "limitranges"]}]
    with KubeApiStandIn(tokens={"team": rules}) as api:
        api.seed(OTHER_SYSTEM)
        result = _plan(monkeypatch, tmp_path, api, "team")
    assert result.code == 0, result.stderr
    (warning,) = _owner_warnings(result.stdout)
    assert warning.startswith("namespace owner: could not read namespace fraud-dev through context kind-mlops "
                              "(403 Forbidden: ")
    assert warning.endswith("whether another system or environment already applied there was not checked; "
                            'needs RBAC permission to get namespaces (apiGroups [""]); check with '
                            "`kubectl auth can-i get namespaces`")


def _apply(monkeypatch, tmp_path: Path, api: KubeApiStandIn, token: str = "t") -> tuple:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", api.url, token, (CONTEXT,))))
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/pulumi")
    ups: list[tuple] = []
    monkeypatch.setattr(engine, "up", lambda *a, **k: ups.append((a, k)))
    return run_cli("apply", str(FRAUD), "--env", "dev", "--yes"), ups


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seeded", [OTHER_SYSTEM, OTHER_ENVIRONMENT], ids=["other-system", "other-environment"])
def test_apply_refuses_a_namespace_another_system_or_environment_applied_to(monkeypatch, tmp_path: Path,
                                                                           seeded) -> None:
    with KubeApiStandIn() as api:
        api.seed(seeded)
        result, ups = _apply(monkeypatch, tmp_path, api)
        writes = [r for r in api.requests_for() if r.method != "GET"]
        labels = api.get("v1", "Namespace", NAMESPACE)["metadata"]["labels"]
    assert result.code == 1 and "Traceback" not in result.output
    assert "Plan:" in result.stdout  # the plan was shown first, as for every refusal of apply
    err = " ".join(result.stderr.split())
    owner = seeded["metadata"]["labels"]
    assert (f"{FRAUD}:{NAMESPACE_LINE}:" in err and f"belongs to system {owner['mlops-infra/system']}, environment "
            f"{owner['mlops-infra/environment']}, not to system fraud-detection, environment dev") in err
    assert "Nothing was applied." in err
    assert ups == [] and writes == [] and labels == owner


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seeded", [OURS, None], ids=["own-labels", "no-namespace"])
def test_apply_goes_on_in_its_own_or_a_new_namespace(monkeypatch, tmp_path: Path, seeded) -> None:
    with KubeApiStandIn() as api:
        if seeded is not None:
            api.seed(seeded)
        result, ups = _apply(monkeypatch, tmp_path, api)
        read = api.requests_for("GET", f"/api/v1/namespaces/{NAMESPACE}")
    assert result.code == 0, result.output
    assert len(ups) == 1 and "belongs to" not in result.stderr and "namespace owner" not in result.stderr
    assert [r.status for r in read] == [200 if seeded else 404]  # apply read the namespace once


@pytest.mark.timeout(120)
def test_apply_that_may_not_read_the_namespace_warns_and_goes_on(monkeypatch, tmp_path: Path) -> None:
    """Its first step, the NamespacePatch, needs the same access: Pulumi fails there, before any
    namespaced object, so the apply is not held for a check it cannot make."""
    rules = [{"apiGroups": ["*"], "verbs": ["*"], "resources": ["pods", "configmaps", "services/proxy"]}]
    with KubeApiStandIn(tokens={"team": rules}) as api:
        api.seed(OTHER_SYSTEM)
        result, ups = _apply(monkeypatch, tmp_path, api, "team")
    assert result.code == 0, result.output
    err = " ".join(result.stderr.split())
    assert ("warning: namespace owner: could not read namespace fraud-dev through context kind-mlops (403 Forbidden: "
            in err and "was not checked; needs RBAC permission to get namespaces") in err
    assert len(ups) == 1
