"""``plan --refresh`` on Kubernetes reads the ResourceQuotas of the environment's namespace and warns
before apply (cli/commands/plan.namespace_quota_preflight, plan/namespace_quotas.py).

Against the Kubernetes API stand-in (tests/support/kube_api.py, which serves ResourceQuota objects):
a team quota the reference's dev environment passes (4 GPUs; its endpoint at full scale and one
training run need 6) gets a warning in the JSON plan and the text plan; a generous quota gets none;
a quota the cluster refuses to list (RBAC) or a cluster that does not answer says the check was not
made. The stand-in's ResourceQuota list, and its RBAC refusal of it, have a test of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.cli.main import main
from mlops_infra.kube import KubeClient
from mlops_infra.kube.errors import KubeForbidden
from mlops_infra.kube.quotas import RESOURCE_QUOTA, read_quotas
from tests.support import fixtures
from tests.support.kube_api import KubeApiStandIn, write_kubeconfig

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
NAMESPACE, CONTEXT = "fraud-dev", "kind-mlops"
pytestmark = pytest.mark.usefixtures("no_stray_reads")
no_stray_reads = fixtures.no_stray_reads  # reads a test gives up on end before the next test


def _quota(name: str, hard: dict[str, str], used: dict[str, str] | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"hard": hard}, "status": {"hard": hard, "used": used or {}}}


TEAM = _quota("team-gpu", {"requests.nvidia.com/gpu": "4", "pods": "50", "requests.cpu": "100"})
GENEROUS = _quota("team-gpu", {"requests.nvidia.com/gpu": "16", "pods": "50", "requests.cpu": "100",
                               "requests.memory": "1Ti", "count/configmaps": "100"})


def _knative_config(name: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "knative-serving"},
            "data": data}


KNATIVE_MEMORY = _knative_config("config-deployment", {"queue-sidecar-image": "q", "queue-sidecar-memory-request": "64Mi"})


def test_the_stand_in_lists_resource_quotas_in_a_namespace_and_refuses_without_rbac():
    with KubeApiStandIn(tokens={"admin": None, "viewer": [{"apiGroups": [""], "resources": ["pods"],
                                                           "verbs": ["list"]}]}) as api:
        api.seed(TEAM)
        api.seed({**_quota("elsewhere", {"pods": "1"}), "metadata": {"name": "elsewhere", "namespace": "other"}})
        with KubeClient.from_url(api.url, token="admin") as kube:
            (listed,) = read_quotas(kube, NAMESPACE)
            assert read_quotas(kube, "absent") == []  # a namespace not created yet lists none
            assert listed["kind"] == "ResourceQuota" and listed["spec"]["hard"]["requests.nvidia.com/gpu"] == "4"
            assert listed["status"]["used"] == {}
        with KubeClient.from_url(api.url, token="viewer") as kube, pytest.raises(KubeForbidden) as refused:
            kube.list(RESOURCE_QUOTA, NAMESPACE)
    assert refused.value.status == 403 and 'cannot list resource "resourcequotas"' in refused.value.message


def _plan(capsys, monkeypatch, tmp_path: Path, server: str, fmt: str = "json", token: str = "t",
          state: Path | None = None, *extra: str) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", server, token, (CONTEXT,))))
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(FRAUD), "--env", "dev", "--refresh", "--format", fmt,
              *(["--state", str(state)] if state else []), *extra])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _quota_warnings(data: dict) -> list[str]:
    return [w for w in data["warnings"] if w.startswith("namespace quota")]


@pytest.mark.timeout(120)
def test_plan_refresh_warns_where_the_namespace_quota_cannot_run_the_reference(capsys, monkeypatch, tmp_path: Path):
    # against the state of an apply that served the scorer: on a first plan the scorer waits for its
    # version (this apply creates the registry: firstapply-2), so its InferenceService is not created
    from tests.scenarios.harness import compile_file
    from tests.support.applied_state import applied_state, dumps

    state = tmp_path / "state.json"
    state.write_text(dumps(applied_state(compile_file(FRAUD, "dev"))), encoding="utf-8")
    with KubeApiStandIn() as api:
        api.seed(TEAM)
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url, state=state)
        assert code == 0, err
        (gpu,) = _quota_warnings(json.loads(out))
        code, text, err = _plan(capsys, monkeypatch, tmp_path, api.url, "text", state=state)
        assert code == 0, err
        api.seed(GENEROUS)
        # GENEROUS names requests.memory, which Knative's queue-proxy sets only when config-deployment says so
        api.seed(KNATIVE_MEMORY)
        code, generous, err = _plan(capsys, monkeypatch, tmp_path, api.url, state=state)
        listed = api.requests_for("GET", f"/namespaces/{NAMESPACE}/resourcequotas")
    assert gpu.startswith("namespace quota: ResourceQuota team-gpu in namespace fraud-dev sets "
                          "requests.nvidia.com/gpu to 4; at full scale and with every scheduled run at once it "
                          "needs 6 (other use of the namespace counts too) (endpoints.scorer (InferenceService "
                          "scorer) 2, training_jobs.retrain (a PyTorchJob run's Master) 4)")
    assert 'refused with 403 Forbidden "exceeded quota: team-gpu"' in gpu and "training operator" in gpu
    assert "ResourceQuota team-gpu in namespace fraud-dev sets requests.nvidia.com/gpu to 4" in " ".join(text.split())
    assert code == 0 and _quota_warnings(json.loads(generous)) == [] and len(listed) == 3


@pytest.mark.timeout(120)
def test_a_first_apply_counts_what_the_namespace_already_uses_and_a_later_one_only_hard(capsys, monkeypatch,
                                                                                     tmp_path: Path):
    """No prior state: nothing in the namespace is this environment's, so ``status.used`` is other use
    and leaves less room (2 GPUs used of 4: a training run's 4 alone does not fit; 48 pods used of 50:
    the apply's 5 do not fit; the scorer's InferenceService is not among them, it waits for its model
    version, firstapply-2). With a prior state, ``used`` holds our own
    pods too, so only ``hard`` is compared, and the warning says other use counts too."""
    from tests.scenarios.harness import compile_file
    from tests.support.applied_state import applied_state, dumps

    busy = _quota("team-gpu", {"requests.nvidia.com/gpu": "4", "pods": "50"},
                  {"requests.nvidia.com/gpu": "2", "pods": "48"})
    state = tmp_path / "state.json"
    state.write_text(dumps(applied_state(compile_file(FRAUD, "dev"))), encoding="utf-8")
    with KubeApiStandIn() as api:
        api.seed(busy)
        code, first, err = _plan(capsys, monkeypatch, tmp_path, api.url)
        assert code == 0, err
        code, later, err = _plan(capsys, monkeypatch, tmp_path, api.url, state=state)
        assert code == 0, err
    pods, gpu = _quota_warnings(json.loads(first))
    assert pods.startswith("namespace quota: ResourceQuota team-gpu in namespace fraud-dev sets pods to 50, 48 of it "
                           "already used by others (a first apply: none of it is this environment's); this "
                           "environment's apply needs 5 (")
    assert "sets requests.nvidia.com/gpu to 4, 2 of it already used by others" in gpu
    assert "training_jobs.retrain (a PyTorchJob run's Master) alone needs 4: the creates of the training " in gpu
    (later_gpu,) = _quota_warnings(json.loads(later))
    assert later_gpu.startswith("namespace quota: ResourceQuota team-gpu in namespace fraud-dev sets "
                                "requests.nvidia.com/gpu to 4; at full scale and with every scheduled run at once "
                                "it needs 6 (other use of the namespace counts too)")


@pytest.mark.timeout(120)
def test_a_quota_naming_limits_cpu_says_which_containers_leave_it_unset(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn() as api:
        api.seed(_quota("team-limits", {"limits.cpu": "1k"}))
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url)
    assert code == 0, err
    (unset,) = _quota_warnings(json.loads(out))
    assert unset.startswith("namespace quota: ResourceQuota team-limits in namespace fraud-dev sets limits.cpu, so "
                            "every container must set it, and these leave it unset: ")
    assert "platform (Deployment mlops-mlflow: mlflow)" in unset and '"must specify limits.cpu"' in unset


@pytest.mark.timeout(120)
def test_the_queue_proxy_of_every_endpoint_pod_is_named_unless_knative_sets_its_limits(capsys, monkeypatch,
                                                                                       tmp_path: Path):
    """preflight-3: the scorer's pods run Knative's queue-proxy, which on a default install asks cpu 25m and
    nothing else: a quota naming limits.cpu refuses them (knative/serving#4134). The plan reads
    knative-serving/config-deployment and config-features once and uses what they set."""
    from tests.scenarios.harness import compile_file
    from tests.support.applied_state import applied_state, dumps

    state = tmp_path / "state.json"
    state.write_text(dumps(applied_state(compile_file(FRAUD, "dev"))), encoding="utf-8")
    with KubeApiStandIn() as api:
        api.seed(_quota("team-limits", {"limits.cpu": "1k", "requests.memory": "1Ti"}))
        code, default, err = _plan(capsys, monkeypatch, tmp_path, api.url, state=state)
        assert code == 0, err
        api.seed(_knative_config("config-deployment", {"queue-sidecar-cpu-limit": "1"}))
        api.seed(_knative_config("config-features", {"queueproxy.resource-defaults": "enabled"}))
        code, configured, err = _plan(capsys, monkeypatch, tmp_path, api.url, state=state)
        assert code == 0, err
        read = api.requests_for("GET", "/namespaces/knative-serving/configmaps/config-deployment")
    limits_cpu, memory = _quota_warnings(json.loads(default))
    assert limits_cpu.startswith("namespace quota: ResourceQuota team-limits in namespace fraud-dev sets limits.cpu, "
                                 "so every container must set it, and these leave it unset: endpoints.scorer "
                                 "(InferenceService scorer: queue-proxy), ")
    assert ("(knative-serving/config-deployment sets no queue-sidecar-* key; queueproxy.resource-defaults is not "
            "enabled): the cluster admin can set queue-sidecar-cpu-limit in ConfigMap knative-serving/config-deployment"
            in limits_cpu)
    assert memory.startswith("namespace quota: ResourceQuota team-limits in namespace fraud-dev sets requests.memory, "
                             "so every container must set it, and these leave it unset: endpoints.scorer "
                             "(InferenceService scorer: queue-proxy). ")
    (others,) = _quota_warnings(json.loads(configured))  # the platform's containers still lack limits.cpu
    assert "sets limits.cpu" in others and "endpoints.scorer" not in others
    assert len(read) == 2


@pytest.mark.timeout(120)
def test_a_limit_range_max_is_judged_without_any_resource_quota(capsys, monkeypatch, tmp_path: Path):
    """preflight-9: the LimitRanges are read whenever the environment runs pods in the namespace (before:
    only under a quota, and only for their defaults), and each container is judged against its max."""
    with KubeApiStandIn() as api:
        api.seed({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "per-container", "namespace": NAMESPACE},
                  "spec": {"limits": [{"type": "Container", "max": {"cpu": "8", "memory": "32Gi"},
                                       "default": {"cpu": "8", "memory": "32Gi"},
                                       "defaultRequest": {"cpu": "8", "memory": "32Gi"}}]}})
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url)
        listed = api.requests_for("GET", f"/namespaces/{NAMESPACE}/limitranges")
    assert code == 0, err
    (limits,) = [w for w in json.loads(out)["warnings"] if w.startswith("namespace limits")]
    assert limits.startswith("namespace limits: LimitRange per-container in namespace fraud-dev bounds or defaults each "
                             "Container, and these containers do not fit it: training_jobs.retrain (a PyTorchJob run's Master: "
                             "pytorch) cpu request 43 > max 8, memory request 163Gi > max 32Gi. ")
    assert '403 Forbidden "maximum cpu usage per Container is 8, but request is 43"' in limits
    assert _quota_warnings(json.loads(out)) == [] and len(listed) == 1


def test_a_limit_range_default_for_the_key_means_no_unset_warning(capsys, monkeypatch, tmp_path: Path):
    """LimitRanger fills a container's missing cpu limit from the namespace's LimitRange before the
    quota is checked (plan/namespace_quotas.limit_range_defaults): nothing to warn about."""
    with KubeApiStandIn() as api:
        api.seed(_quota("team-limits", {"limits.cpu": "1k"}))
        api.seed({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": NAMESPACE},
                  "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}})
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url)
    assert code == 0, err
    assert _quota_warnings(json.loads(out)) == []


@pytest.mark.timeout(120)
def test_unreadable_quotas_say_the_check_was_not_made(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn(tokens={"t": [{"apiGroups": ["*"], "resources": ["customresourcedefinitions", "configmaps"],
                                       "verbs": ["get", "list"]}]}) as api:
        api.seed(TEAM)
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url)
    assert code == 0, err
    (forbidden,) = _quota_warnings(json.loads(out))
    assert forbidden.startswith("namespace quotas: could not read the ResourceQuotas of namespace fraud-dev "
                                "(403 Forbidden: ")
    assert 'needs RBAC permission to list resourcequotas (apiGroups [""]) in namespace fraud-dev' in forbidden
    code, out, err = _plan(capsys, monkeypatch, tmp_path, "http://127.0.0.1:9")  # nothing listens
    assert code == 0, err
    (unreachable,) = _quota_warnings(json.loads(out))
    assert unreachable.startswith("namespace quotas: could not read the ResourceQuotas of namespace fraud-dev "
                                  "through context kind-mlops (")
    assert "was not checked" in unreachable


@pytest.mark.timeout(120)
def test_a_quota_read_without_an_answer_is_given_a_quarter_of_the_refresh_deadline(capsys, monkeypatch,
                                                                                  tmp_path: Path):
    """The client alone would wait 30 s per try and retry; the read gets max(1 s, timeout / 4)."""
    with KubeApiStandIn() as api:
        api.seed(TEAM)
        api.fail(status=503, path_contains="/resourcequotas", delay=3.0)
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url, "json", "t", None, "--refresh-timeout", "4")
    assert code == 0, err
    (silent,) = _quota_warnings(json.loads(out))
    assert silent == ("namespace quotas: could not read the ResourceQuotas of namespace fraud-dev through context "
                      "kind-mlops (no answer within 1 s); what this environment needs there was not checked against "
                      "them nor against its LimitRanges")


@pytest.mark.timeout(120)
def test_a_cluster_preflight_without_an_answer_is_bounded_like_the_quota_read(capsys, monkeypatch, tmp_path: Path):
    """The cluster preflight reads CRDs before anything else: on a server that delays every answer, the
    client would retry each of them (4 tries, 30 s read timeout) for minutes; it gets the same share of
    ``--refresh-timeout`` as the quota read (cli plan.cluster_preflight) and says it did not run."""
    import time

    with KubeApiStandIn() as api:
        api.seed(TEAM)
        api.fail(status=503, path_contains="customresourcedefinitions", delay=3.0, times=100)
        started = time.monotonic()
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url, "json", "t", None, "--refresh-timeout", "4")
        elapsed = time.monotonic() - started
    assert code == 0, err
    (preflight,) = [w for w in json.loads(out)["warnings"] if w.startswith("cluster preflight:")]
    assert preflight.startswith("cluster preflight: not run for context kind-mlops: no answer within 1 s; ")
    assert "prerequisites were not checked" in preflight
    assert elapsed < 4 + 2 + 10


@pytest.mark.timeout(120)
def test_a_silent_cluster_holds_plan_refresh_for_the_refresh_timeout_in_all(capsys, monkeypatch, tmp_path: Path):
    """``--refresh-timeout`` is what the live reads "may take in all": with every answer of the cluster
    delayed past it, the namespace's owner labels are read first (a refusal before any other request), then
    the four other preflights (CRDs, quotas, monitoring selectors, the Secrets referred to) run at once, each
    within a quarter of it, and the scan of the prior state's objects gets what they left and returns at its
    deadline (state/kube_live.scan_kubernetes). Before, the preflights ran one after the other, the scan got
    the whole timeout again and then waited for its reads in flight, each retried: far past the timeout
    (benchmarks/bench_refresh_deadline.py times the whole process against a cluster that never answers)."""
    import time

    from mlops_infra.compile import compile_system
    from mlops_infra.spec import load_system
    from tests.support.applied_state import applied_state, dumps

    state = tmp_path / "state.json"
    state.write_text(dumps(applied_state(compile_system(load_system(FRAUD, "dev").system, "dev"))))
    with KubeApiStandIn() as api:
        api.seed(TEAM)
        api.fail(status=503, delay=5.0, times=100_000)
        started = time.monotonic()
        code, out, err = _plan(capsys, monkeypatch, tmp_path, api.url, "json", "t", state, "--refresh-timeout", "12")
        elapsed = time.monotonic() - started
    assert code == 0, err
    data = json.loads(out)
    assert [w.split(":")[0] for w in data["warnings"] if "no answer within" in w] == [
        "cluster preflight", "namespace quotas", "monitoring selectors", "secrets", "namespace owner"]
    (incomplete,) = [w for w in data["warnings"] if w.startswith("the refresh is incomplete")]
    assert "kubernetes-unreachable (deadline)" in incomplete
    assert elapsed < 12 + 4, elapsed  # 12 s and the plan's own work
