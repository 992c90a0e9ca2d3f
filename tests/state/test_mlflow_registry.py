"""Reading a Kubernetes environment's MLflow registry (finding firstapply-2), against a REAL MLflow server.

The server (tests/support/mlflow_server.py) runs with the compiled registry's own ``--allowed-hosts``
(``MLFLOW_SERVER_ALLOWED_HOSTS``, what ``mlflow server --allowed-hosts`` sets; mlflow
``server/security_utils.py``), so a request whose Host header is not one the cluster's server accepts
is refused here as there. It is reached two ways, as ``plan --refresh`` and ``apply`` reach it:
at ``MLFLOW_TRACKING_URI`` (``http://localhost:<port>``, allowed as ``localhost:*``), and through the
service proxy of the Kubernetes API stand-in (tests/support/kube_api.py, which forwards the client's
Host header as the real API server does).
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from mlops_infra.cli.commands.plan import registry_view
from mlops_infra.compile import compile_system
from mlops_infra.kube import KubeClient
from mlops_infra.state import mlflow_registry
from mlops_infra.state.mlflow_registry import MLFLOW_APPROVAL_TAG, read_registry
from mlops_infra.state.model import PriorState
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import load_file
from tests.support import fixtures
from tests.support.applied_state import applied_state, dumps
from tests.support.kube_api import KubeApiStandIn
from tests.support.mlflow_server import MlflowRest, running_mlflow_server

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = pytest.mark.timeout(300)

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
ENV, NAMESPACE, MODEL, ENDPOINT = "dev", "churn-dev", "churn-model", "churn-api"
IS_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def _system(version: int = 1):
    system = load_file(QUICKSTART, ENV)
    item = system.item("endpoints", ENDPOINT)
    bumped = item.model_copy(update={"model": item.model.model_copy(update={"version": version})})
    return system.model_copy(update={"endpoints": [bumped]})


def _allowed_hosts() -> str:
    """The ``--allowed-hosts`` of the compiled MLflow Deployment (compile/kubernetes/registry.py)."""
    graph = compile_system(_system(), ENV)
    (deployment,) = [r.inputs for r in graph.resources if r.type == "kubernetes:apps/v1:Deployment"
                     and r.inputs["metadata"]["name"] == "mlops-mlflow"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    return args[args.index("--allowed-hosts") + 1]


@pytest.fixture(scope="module")
def cluster_mlflow() -> Iterator[str]:
    """A real MLflow server accepting only the cluster's allowed hosts; its ``http://localhost:<port>``."""
    with contextlib.ExitStack() as stack:
        with mock.patch.dict(os.environ, {"MLFLOW_SERVER_ALLOWED_HOSTS": _allowed_hosts()}):
            url = stack.enter_context(running_mlflow_server())
        yield url.replace("127.0.0.1", "localhost")


@pytest.fixture()
def mlflow(cluster_mlflow: str, monkeypatch: pytest.MonkeyPatch) -> MlflowRest:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    rest = MlflowRest(cluster_mlflow)
    rest.delete_all_models()
    rest.create_model(MODEL)
    return rest


@pytest.fixture(scope="module")
def applied() -> PriorState:
    """The state after an apply that served churn-model v1 (registry, register Job, InferenceService)."""
    return parse_state(dumps(applied_state(compile_system(_system(1), ENV))).encode(), "applied.json")


ARTIFACTS = "s3://churn-quickstart-models-123456789012/churn-model/"
"""The quickstart model's ``artifacts_uri``: versions registered outside this system live at ``<it><n>/``."""


def _source(number: int) -> str:
    return f"{ARTIFACTS}{number}/"


def _version(rest: MlflowRest, approved: bool) -> int:
    expected = len(rest.versions(MODEL)) + 1  # MLflow numbers a new version one more than the highest
    number = rest.create_version(MODEL, _source(expected))
    assert number == expected
    if approved:
        rest.set_version_tag(MODEL, number, MLFLOW_APPROVAL_TAG, "approved")
    return number


def _decide(view, version: int) -> dict:
    graph = compile_system(_system(version), ENV, registry=view)
    served = [r.inputs for r in graph.resources if r.type == IS_TYPE]
    decision = graph.model_versions[f"endpoints.{ENDPOINT}"]
    decision["storageUri"] = served[0]["spec"]["predictor"]["model"]["storageUri"] if served else None
    return decision


def test_refresh_reads_a_missing_version_and_keeps_serving_the_proven_one(mlflow, applied, monkeypatch):
    """`plan --refresh` (registry_view with refresh): v1 approved is registered, v2 is not: the
    endpoint stays on v1 (the prior state's InferenceService), never deleted."""
    _version(mlflow, approved=True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow.url)
    view = registry_view(_system(2), ENV, applied, refresh=True)
    assert view.warnings == ()
    assert (view.models[MODEL].basis, sorted(view.models[MODEL].versions)) == ("registry", [1])
    decision = _decide(view, 2)
    assert (decision["state"], decision["serve"], decision["basis"]) == ("holding", 1, "registry")
    assert decision["why"].startswith(f"not registered in MLflow registered model {MODEL} (mlops-mlflow in "
                                      f"namespace {NAMESPACE} at {mlflow.url}); register v2 there")
    assert decision["storageUri"] == _source(1)


def test_refresh_reads_a_version_pending_approval_in_a_gated_environment(mlflow, applied, monkeypatch):
    _version(mlflow, approved=True)
    _version(mlflow, approved=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow.url)
    view = registry_view(_system(2), ENV, applied, refresh=True)
    assert view.models[MODEL].versions[2].approval == "PendingManualApproval"
    decision = _decide(view, 2)
    assert (decision["state"], decision["serve"]) == ("holding", 1)
    assert "PendingManualApproval in MLflow registered model" in decision["why"]
    assert decision["storageUri"] == _source(1)


def test_refresh_reads_an_approved_version_and_serves_it(mlflow, applied, monkeypatch):
    _version(mlflow, approved=True)
    _version(mlflow, approved=True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow.url)
    decision = _decide(registry_view(_system(2), ENV, applied, refresh=True), 2)
    assert (decision["state"], decision["serve"], decision["basis"]) == ("ready", 2, "registry")
    assert decision["storageUri"] == _source(2)


def test_a_first_apply_is_not_read_the_registry_is_created_now(mlflow, monkeypatch):
    """No registry in the prior state: nothing to read (this apply creates it); the view says so."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # would fail if read
    view = registry_view(_system(1), ENV, PriorState.empty(), refresh=True)
    assert (view.models[MODEL].basis, view.warnings) == ("created-now", ())
    assert _decide(view, 1)["state"] == "waiting"


def test_an_unreachable_registry_warns_and_decides_from_the_prior_state(applied, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    view = registry_view(_system(1), ENV, applied, refresh=True)
    assert view.models[MODEL].basis == "prior-state"
    assert len(view.warnings) == 1 and "could not read the registry of churn-model" in view.warnings[0]
    assert _decide(view, 1)["state"] == "ready"


def _proxied(api: KubeApiStandIn, url: str) -> None:
    api.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mlops-mlflow", "namespace": NAMESPACE},
              "spec": {"ports": [{"name": "http", "port": 5000}]}})
    api.proxy_service(NAMESPACE, "mlops-mlflow", url)


def test_without_a_tracking_uri_the_registry_is_read_through_the_service_proxy(mlflow, applied):
    _version(mlflow, approved=True)
    _version(mlflow, approved=False)
    with KubeApiStandIn() as api:
        _proxied(api, mlflow.url)
        view = read_registry(_system(2), ENV, applied, connect=lambda: KubeClient.from_url(api.url))
        paths = {r.path for r in api.requests}
    assert view.warnings == ()
    assert {n: r.approval for n, r in view.models[MODEL].versions.items()} == {1: "Approved",
                                                                               2: "PendingManualApproval"}
    assert paths == {f"/api/v1/namespaces/{NAMESPACE}/services/mlops-mlflow:http/proxy/api/2.0/mlflow/"
                     "model-versions/search"}
    assert _decide(view, 2)["state"] == "holding"


def test_the_proxied_read_sends_a_host_the_compiled_server_allows(mlflow, applied, monkeypatch):
    """Without the Host header the proxy forwards the API server's own host, which the compiled
    --allowed-hosts refuses (403 "Invalid Host header"): the read would always fail on a cluster.
    The API server's host is the address the client dialled: a remote cluster's
    (``api.cluster.example.com:6443``, sent as the client would) is not the stand-in's ``127.0.0.1``,
    which the compiled server now allows for ``kubectl port-forward`` (registry-4)."""
    monkeypatch.setattr(mlflow_registry, "proxy_fetch", _proxy_fetch_without_host)
    with KubeApiStandIn() as api:
        _proxied(api, mlflow.url)
        view = read_registry(_system(2), ENV, applied, connect=lambda: KubeClient.from_url(api.url))
    assert len(view.warnings) == 1 and "Invalid Host header" in view.warnings[0], view.warnings


def _proxy_fetch_without_host(kube, namespace):
    """proxy_fetch without its Host header: the client's own (a remote API server's address) is forwarded."""
    base = mlflow_registry.proxy_path(namespace)
    return lambda api_path, query, what: kube.request("GET", f"{base}/api/2.0/mlflow/{api_path}",
                                                      query=list(query.items()), what=what,
                                                      headers={"Host": "api.cluster.example.com:6443"})


def test_a_403_from_the_api_server_names_the_permission_to_grant(mlflow, applied):
    rules = [{"apiGroups": [""], "resources": ["services"], "verbs": ["get"]}]  # not services/proxy
    with KubeApiStandIn(tokens={"reader": rules}) as api:
        _proxied(api, mlflow.url)
        view = read_registry(_system(2), ENV, applied, connect=lambda: KubeClient.from_url(api.url, token="reader"))
    (warning,) = view.warnings
    assert "get on services/proxy in namespace churn-dev" in warning and "MLFLOW_TRACKING_URI" in warning
    assert view.models[MODEL].basis == "prior-state"


def test_the_refresh_deadline_bounds_the_read(applied, monkeypatch):
    """A registry that never answers: the plan decides from the prior state after half the deadline."""
    import threading

    release = threading.Event()
    monkeypatch.setattr(mlflow_registry, "model_registry", lambda *a, **k: release.wait(30))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    try:
        view = registry_view(_system(1), ENV, applied, refresh=True, deadline=0.4)
    finally:
        release.set()
    assert view.models[MODEL].basis == "prior-state"
    assert view.warnings == ("could not read the model registry within the 0.2 s refresh deadline; versions were "
                             "decided from the prior state",)


# -- ctxread: the registry of the cluster `pulumi up` changes ---------------------------------------------------------
# The stack config overrides the spec's context (kind-mlops, cluster A) with stack-ctx (cluster B), as ctxmatch's
# plan reads do (mlops_infra/kube/effective_context.py). Both stand-ins proxy to the same MLflow server, so only the
# API server each read reached tells which cluster the registry read went to.


@contextlib.contextmanager
def _two_clusters(mlflow_url: str, tmp_path: Path, monkeypatch) -> Iterator[tuple[KubeApiStandIn, KubeApiStandIn]]:
    """Two API stand-ins ``(a, b)``, both proxying to the MLflow server at ``mlflow_url``, and ``KUBECONFIG`` set
    to a kubeconfig whose kind-mlops (the spec's context) reaches ``a`` and stack-ctx reaches ``b``."""
    with KubeApiStandIn() as a, KubeApiStandIn() as b:
        for api in (a, b):
            _proxied(api, mlflow_url)
        monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path, a, b)))
        yield a, b


def _kubeconfig(tmp_path: Path, a: KubeApiStandIn, b: KubeApiStandIn) -> Path:
    import yaml

    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-mlops",
        "clusters": [{"name": "a", "cluster": {"server": a.url}}, {"name": "b", "cluster": {"server": b.url}}],
        "users": [{"name": "dev", "user": {"token": "t"}}],
        "contexts": [{"name": "kind-mlops", "context": {"cluster": "a", "user": "dev"}},
                     {"name": "stack-ctx", "context": {"cluster": "b", "user": "dev"}}]}))
    return path


def _applied_file(tmp_path: Path) -> Path:
    """The quickstart's dev graph at version 1, applied, as a state file."""
    state = tmp_path / "applied.json"
    state.write_text(dumps(applied_state(compile_system(_system(1), ENV))))
    return state


def _stack_dir(tmp_path: Path, overrides: dict) -> Path:
    """A stack directory of the quickstart's dev environment whose ``Pulumi.dev.yaml`` sets ``overrides``."""
    import yaml

    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "churn-quickstart", "runtime": "python"}))
    (stack / "Pulumi.dev.yaml").write_text(yaml.safe_dump(
        {"config": {"mlops:systemFile": str(QUICKSTART), "mlops:environment": ENV, **overrides}}))
    return stack


def _proxy_reads(api: KubeApiStandIn) -> list:
    return api.requests_for("GET", f"/namespaces/{NAMESPACE}/services/mlops-mlflow:http/proxy/")


def test_the_registry_is_read_on_the_cluster_the_stack_config_names(mlflow, applied, tmp_path, monkeypatch):
    """read_registry and plan's registry_view with the stack directory: the read goes to stack-ctx's cluster."""
    _version(mlflow, approved=True)
    _version(mlflow, approved=True)
    with _two_clusters(mlflow.url, tmp_path, monkeypatch) as (a, b):
        stack = _stack_dir(tmp_path, {"kubernetes:context": "stack-ctx"})
        view = read_registry(_system(2), ENV, applied, stack_dir=stack)
        planned = registry_view(_system(2), ENV, applied, refresh=True, stack_dir=stack)
        assert (len(_proxy_reads(a)), len(_proxy_reads(b))) == (0, 2)
        unstacked = read_registry(_system(2), ENV, applied)  # no stack directory known: the spec's context
        assert (len(_proxy_reads(a)), len(_proxy_reads(b))) == (1, 2)
    for found in (view, planned, unstacked):
        assert found.warnings == () and sorted(found.models[MODEL].versions) == [1, 2]
    assert _decide(view, 2)["state"] == "ready"


def test_plan_refresh_reads_the_registry_of_the_stack_configs_cluster(mlflow, applied, tmp_path, monkeypatch):
    """`plan --refresh` run in the stack directory (desired_and_prior -> registry_view): the version decision
    comes from stack-ctx's registry; the spec's cluster is never asked."""
    from rich.console import Console

    from mlops_infra.cli.commands.plan import desired_and_prior

    _version(mlflow, approved=True)
    state = _applied_file(tmp_path)
    with _two_clusters(mlflow.url, tmp_path, monkeypatch) as (a, b):
        monkeypatch.chdir(_stack_dir(tmp_path, {"kubernetes:context": "stack-ctx"}))
        desired = desired_and_prior(QUICKSTART, ENV, state, Console(file=io.StringIO()), refresh=True)
        assert (len(_proxy_reads(a)), len(_proxy_reads(b))) == (0, 1)
    assert desired.registry.warnings == ()
    assert desired.registry.models[MODEL].basis == "registry"


def test_apply_does_not_read_the_specs_registry_when_the_stack_kubeconfig_is_secret(mlflow, applied, tmp_path,
                                                                                      monkeypatch):
    """apply's read (read_registry=True: strict) with a `secure:` kubeconfig only the Pulumi CLI decrypts: no read
    of the spec's cluster, whose registry is not the one `pulumi up` serves from; the warning says why and the
    versions are decided from the prior state. plan (not strict) reads the spec's context, as its other reads."""
    from rich.console import Console

    from mlops_infra.cli.commands.plan import desired_and_prior

    _version(mlflow, approved=True)
    state = _applied_file(tmp_path)
    with _two_clusters(mlflow.url, tmp_path, monkeypatch) as (a, b):
        stack = _stack_dir(tmp_path, {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext=="}})
        monkeypatch.chdir(stack)
        applying = desired_and_prior(QUICKSTART, ENV, state, Console(file=io.StringIO()), read_registry=True)
        assert (len(_proxy_reads(a)), len(_proxy_reads(b))) == (0, 0)
        planning = desired_and_prior(QUICKSTART, ENV, state, Console(file=io.StringIO()), refresh=True)
        assert (len(_proxy_reads(a)), len(_proxy_reads(b))) == (1, 0)
    (warning,) = applying.registry.warnings
    assert warning.startswith("could not read the model registry (mlops-mlflow in namespace churn-dev): cannot read "
                              "the MLflow registry through the API server's service proxy: the stack's "
                              f"kubernetes:kubeconfig in {stack / 'Pulumi.dev.yaml'} is a secret"), warning
    assert "ciphertext" not in warning
    assert applying.registry.models[MODEL].basis == "prior-state"
    assert planning.registry.warnings == () and planning.registry.models[MODEL].basis == "registry"


# -- registry-1: an MLflow 3 LoggedModel's version (source models:/m-<id>) is served from where its artifacts are ------


def _log_model_to_s3(mlflow_url: str, s3_url: str, bucket: str, folder: Path, monkeypatch) -> str:
    """A model logged as ``mlflow.<flavor>.log_model(..., registered_model_name=MODEL)`` logs it (mlflow 3.14
    ``models/model.py`` ``Model.log``: ``_create_logged_model``, ``log_model_artifacts`` of the saved folder,
    ``_register_model(f"models:/{model_id}", ...)``), through the same public calls, in an experiment whose
    artifact location is ``s3://<bucket>/exp`` (moto). Returns the LoggedModel's id."""
    import boto3
    import mlflow as mlflow_lib

    for key, value in {"MLFLOW_S3_ENDPOINT_URL": s3_url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "MLFLOW_TRACKING_URI": mlflow_url}.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1").create_bucket(Bucket=bucket)
    client = mlflow_lib.MlflowClient(mlflow_url)
    experiment = client.create_experiment(f"logged-{bucket}", artifact_location=f"s3://{bucket}/exp")
    logged = client.create_logged_model(experiment, name="model")
    (folder / "MLmodel").write_text(f"artifact_path: model\nmodel_id: {logged.model_id}\nflavors: {{}}\n")
    (folder / "model.pkl").write_bytes(b"the model")
    client.log_model_artifacts(logged.model_id, str(folder))
    mlflow_lib.register_model(f"models:/{logged.model_id}", MODEL)
    return logged.model_id


@pytest.mark.moto
def test_a_logged_model_version_is_served_from_its_artifacts_in_s3(mlflow, applied, moto_url, tmp_path,
                                                                     monkeypatch):
    """registry-1. MLflow 3 registers a logged model with the source ``models:/m-<id>`` (mlflow 3.14
    ``_register_model``) and keeps its files at ``<experiment artifact location>/models/m-<id>/artifacts``
    (the version's storage location, given by ``model-versions/get-download-uri``). Main took the source as
    the artifact URI: a plan warning, and the InferenceService served the layout
    ``s3://churn-quickstart-models-123456789012/churn-model/1/``, where nothing is. Now the read asks MLflow
    where the pinned version's artifacts are (one GET, only for it) and serves that s3:// folder."""
    import boto3

    from mlops_infra.state.mlflow_registry import read_mlflow

    bucket = f"logged-models-{uuid.uuid4().hex[:12]}"  # moto's backends outlive a test: a name of its own
    model_id = _log_model_to_s3(mlflow.url, moto_url, bucket, tmp_path, monkeypatch)
    (version,) = mlflow.versions(MODEL)
    assert (version["version"], version["source"]) == ("1", f"models:/{model_id}")
    other = mlflow.create_version(MODEL, "runs:/0a1b2c/model")  # not pinned: never located
    mlflow.set_version_tag(MODEL, 1, MLFLOW_APPROVAL_TAG, "approved")
    folder = f"s3://{bucket}/exp/models/{model_id}/artifacts"
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
            .list_objects_v2(Bucket=bucket, Prefix=f"exp/models/{model_id}/artifacts/")["Contents"]]
    assert f"exp/models/{model_id}/artifacts/MLmodel" in keys  # the files are there

    calls: list[str] = []
    real_call = mlflow_registry.mlflow_call
    monkeypatch.setattr(mlflow_registry, "mlflow_call", lambda url, **kw: calls.append(url) or real_call(url, **kw))
    view = registry_view(_system(1), ENV, applied, refresh=True)
    assert view.warnings == ()
    assert view.models[MODEL].versions[1].artifact_uri == folder
    assert view.models[MODEL].versions[other].artifact_uri == "runs:/0a1b2c/model"
    located = [u for u in calls if "/model-versions/get-download-uri?" in u]
    assert located == [f"{mlflow.url}/api/2.0/mlflow/model-versions/get-download-uri?name={MODEL}&version=1"]
    decision = _decide(view, 1)
    assert (decision["state"], decision["storageUri"]) == ("ready", f"{folder}/")

    promoted = read_mlflow(_system(1), mlflow.url)  # promote's read (the artifact it copies) locates it too
    assert promoted.models[MODEL].versions[1].artifact_uri == folder


def test_a_logged_model_in_the_proxied_store_is_still_a_warning(mlflow, applied, monkeypatch):
    """A LoggedModel under the compiled server's proxied store: its location is ``mlflow-artifacts:/...``,
    which KServe does not download either: the warning stays and the layout is served."""
    import mlflow as mlflow_lib

    client = mlflow_lib.MlflowClient(mlflow.url)
    experiment = client.create_experiment(f"proxied-{uuid.uuid4().hex[:12]}")
    logged = client.create_logged_model(experiment, name="model")
    number = mlflow.create_version(MODEL, f"models:/{logged.model_id}")
    mlflow.set_version_tag(MODEL, number, MLFLOW_APPROVAL_TAG, "approved")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow.url)
    view = registry_view(_system(number), ENV, applied, refresh=True)
    (warning,) = view.warnings
    assert f"churn-model v{number}'s MLflow source 'models:/{logged.model_id}' is not a URI" in warning
    assert "nor is the location MLflow gives for it" in warning
    assert _decide(view, number)["storageUri"] == _source(number)


# -- registry-4: the documented port-forward address, http://127.0.0.1:5000, is one the compiled server allows ---------


def test_the_compiled_server_answers_the_documented_port_forward_address(mlflow, applied):
    """registry-4. ``kubectl port-forward svc/mlops-mlflow 5000`` then ``--mlflow ENV=http://127.0.0.1:5000``
    (docs/promote.md): the client's Host header is ``127.0.0.1:<port>``. Main's --allowed-hosts listed
    ``localhost:*`` only, and MLflow answered 403 "Invalid Host header" (the flag replaces its default list)."""
    from mlops_infra.promote.registries import read_view

    _version(mlflow, approved=True)
    loopback = mlflow.url.replace("localhost", "127.0.0.1")
    view = read_view(_system(1), ENV, None, mlflow_uri=loopback)
    assert (view.models[MODEL].basis, sorted(view.models[MODEL].versions)) == ("registry", [1])
    hosts = _allowed_hosts().split(",")
    assert {"localhost:*", "127.0.0.1:*", "[[]::1]:*"} <= set(hosts)
    port = loopback.rsplit(":", 1)[1]
    assert _status(loopback, f"[::1]:{port}") == 200  # MLflow's escaped IPv6 pattern matches the IPv6 loopback
    assert _status(loopback, f"mlflow.example.com:{port}") == 403  # and the list still refuses other hosts


def _status(url: str, host: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{url}/api/2.0/mlflow/registered-models/search", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_a_host_the_server_refuses_is_a_clear_error_naming_the_addresses_it_allows(mlflow):
    """An address the server does not allow (here an ingress name, sent as the Host header): the read fails
    closed with the allowed hosts and the fix, not the bare 403."""
    import urllib.request

    from mlops_infra.errors import UserError
    from mlops_infra.state.mlflow_registry import read_mlflow

    def through_ingress(request, timeout):
        request.add_header("Host", "mlflow.example.com")
        return urllib.request.urlopen(request, timeout=timeout)

    with pytest.raises(UserError) as raised:
        read_mlflow(_system(1), mlflow.url, opener=through_ingress)
    error = raised.value
    assert error.summary == ("MLflow refused reading the versions of churn-model: Host header 'mlflow.example.com' "
                             "not allowed (HTTP 403 \"Invalid Host header\")")
    for needle in ("--allowed-hosts", "localhost:*, 127.0.0.1:*, [::1]:*", "http://127.0.0.1:5000",
                   "kubectl port-forward svc/mlops-mlflow 5000", "MLFLOW_SERVER_ALLOWED_HOSTS"):
        assert needle in error.detail, error.detail
