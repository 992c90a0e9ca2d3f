"""Read a Kubernetes environment's MLflow model registry into a RegistryView (finding firstapply-2).

Contract of :func:`read_registry` (what ``plan --refresh`` and ``apply`` use on Kubernetes, as
:func:`mlops_infra.state.aws_live.model_registry.read_registry` is on AWS):

- where: ``MLFLOW_TRACKING_URI`` when set (a ``kubectl port-forward svc/mlops-mlflow 5000`` or an
  ingress), else the registry's Service ``mlops-mlflow`` (port ``http``) through the API server's
  service proxy of the cluster ``pulumi up`` changes: given the stack directory, the stack config's
  ``kubernetes:context``/``kubernetes:kubeconfig`` over the environment's kubeconfig context, as plan's other
  reads (:func:`mlops_infra.kube.effective_context.stack_options`; ``strict`` for apply's read: a ``secure:``
  kubeconfig, which only the Pulumi CLI decrypts, is a failed read rather than a read of the spec's cluster),
  else the environment's kubeconfig context:
  ``GET /api/v1/namespaces/<ns>/services/mlops-mlflow:http/proxy/<path>`` ("Manually constructing
  apiserver proxy URLs", https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls;
  API reference "Service v1" "Proxy Operations"). The caller needs RBAC ``get`` on ``services/proxy``
  in that namespace; a 403 says so. The proxy forwards the request's own Host header (apimachinery
  ``pkg/util/proxy/upgradeaware.go`` ``ServeHTTP`` replaces ``Host`` only with ``UseLocationHost``,
  which the service proxy, ``pkg/registry/core/service/proxy.go``, does not set), and the compiled
  server refuses a Host outside its ``--allowed-hosts`` (``compile/kubernetes/registry.py``
  ``server_args``; mlflow ``server/security_utils.py`` ``is_allowed_host_header``), so the reader
  sends ``Host: mlops-mlflow.<ns>``, an allowed host;
- what: per model of the system, ``GET /api/2.0/mlflow/model-versions/search`` (MLflow REST API
  ``SearchModelVersions``, https://mlflow.org/docs/latest/rest-api.html: ``filter``, ``max_results``,
  ``page_token``; the response holds ``model_versions``, each with its ``tags``, and
  ``next_page_token`` while more remain), pages of :data:`MLFLOW_PAGE_SIZE` (the server refuses more
  than 200,000, ``mlflow/server/handlers.py`` ``_search_model_versions``) to the last page. A
  registered model that does not exist has no versions (an empty answer). A version is ``Approved``
  when its tag ``mlops-infra.approval-status`` is ``approved`` (``Rejected`` for ``rejected``, else
  ``PendingManualApproval``: docs/compile-kubernetes.md), its status READY / PENDING_REGISTRATION /
  FAILED_REGISTRATION maps to Completed / Pending / Failed, its ``source`` is the artifact URI (what
  the InferenceService serving it downloads: ``compile/kubernetes/artifacts.py``) and its
  tag ``mlops-infra.artifact-digest`` the digest;
- where a version's artifacts are (registry-1): MLflow 3 registers a model logged with
  ``mlflow.<flavor>.log_model`` (a LoggedModel) with the ``source`` ``models:/m-<id>``, not a storage URI
  (mlflow 3.14 ``tracking/_model_registry/fluent.py`` ``_register_model``: a ``runs:/`` URI whose run folder
  holds no ``MLmodel`` becomes ``models:/<model_id>``), and keeps where the files are as the version's
  ``storage_location`` (``store/model_registry/sqlalchemy_store.py`` ``create_model_version``: for a
  ``models:/m-<id>`` source, the LoggedModel's ``artifact_location``,
  ``<experiment artifact location>/models/m-<id>/artifacts``), which ``SearchModelVersions`` does not return.
  So for each version an endpoint pins or serves whose ``source`` KServe cannot download
  (:func:`mlops_infra.compile.kubernetes.artifacts.downloadable`: ``models:/``, ``runs:/``,
  ``mlflow-artifacts:/``...), and only for those, the reader asks MLflow where its artifacts are: one
  ``GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=`` (REST ``GetModelVersionDownloadUri``,
  ``server/handlers.py`` ``_get_model_version_download_uri``; the store answers ``storage_location or
  source``, ``get_model_version_download_uri``) per version, and takes its ``artifact_uri`` as the version's
  artifact URI when KServe downloads it (an ``s3://`` folder: a LoggedModel of an experiment whose
  artifact location is ``s3://``). A version still undownloadable (a ``runs:/`` source keeps itself as its
  storage location; a LoggedModel under the compiled server's proxied store is ``mlflow-artifacts:/...``)
  keeps its ``source`` and is a warning (:func:`source_warnings`): it is served from the documented layout
  instead;
- a registry the prior state does not hold is not read: this apply creates it, the offline view
  (``created-now``) already says no version exists;
- a read that fails (unreachable, 403, a refused request) keeps the offline evidence
  (:func:`mlops_infra.state.model_registry.kube_offline_view`) and adds a warning naming the error
  (scrubbed of credentials): the plan still decides, and says it could not check.

:func:`read_mlflow` is the same read at a given URL that fails closed (``mlops-infra promote``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mlops_infra.compile.kubernetes import names as kube_names
from mlops_infra.compile.kubernetes.artifacts import downloadable
from mlops_infra.errors import UserError
from mlops_infra.model_versions import (
    APPROVED,
    MLFLOW_APPROVAL_STATUS_TAG,
    REJECTED,
    ModelRegistry,
    RegistryView,
    VersionRecord,
)
from mlops_infra.spec.system import MLSystem
from mlops_infra.state.model import PriorState
from mlops_infra.state.model_registry import kube_offline_view, mlflow_where

MLFLOW_DIGEST_TAG = "mlops-infra.artifact-digest"
MLFLOW_APPROVAL_TAG = MLFLOW_APPROVAL_STATUS_TAG
MLFLOW_STATUS = {"READY": "Completed", "PENDING_REGISTRATION": "Pending", "FAILED_REGISTRATION": "Failed"}
MLFLOW_PAGE_SIZE = 1000
"""``max_results`` of one ``SearchModelVersions`` page (the server caps it; more pages follow by ``page_token``)."""
HTTP_TIMEOUT = 30
PROXY_PORT = "http"
"""The registry Service's port name (``compile/kubernetes/workloads.py`` ``service``)."""
PROXY_PERMISSION = "get on services/proxy"

DOWNLOAD_URI = "model-versions/get-download-uri"
"""MLflow REST ``GetModelVersionDownloadUri`` (GET; ``name``, ``version`` -> ``artifact_uri``)."""
INVALID_HOST = "Invalid Host header"
"""What MLflow 3 answers (403) a request whose Host it does not allow (mlflow 3.14 ``server/security_utils.py``
``INVALID_HOST_MSG``: "Invalid Host header - possible DNS rebinding attack detected")."""

Fetch = Callable[[str, Mapping[str, str], str], dict[str, Any]]
"""``fetch(api_path, query, what)``: one GET of ``/api/2.0/mlflow/<api_path>`` -> its JSON answer."""


def mlflow_call(url: str, *, body: Mapping[str, Any] | None = None, opener: Callable[..., Any] = urllib.request.urlopen,
                what: str = "the registry") -> dict[str, Any]:
    """One MLflow REST call (GET, or POST with a JSON ``body``); errors become a ``UserError``. A 403
    "Invalid Host header" (the server's DNS-rebinding check) names the hosts the compiled registry
    allows and how to reach it (:func:`host_refused`)."""
    from mlops_infra.secrets import redact

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with opener(request, timeout=HTTP_TIMEOUT) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")[:500]
        if err.code == 403 and INVALID_HOST in detail:
            raise host_refused(request.get_header("Host") or request.host, what) from None
        raise UserError(f"MLflow refused reading {what} (HTTP {err.code})", redact(detail)) from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise UserError(f"cannot reach MLflow to read {what}", redact(f"{url.split('?')[0]}: {err}")) from None


def host_refused(host: str, what: str) -> UserError:
    """The error of a 403 "Invalid Host header": MLflow 3 answers it to a request whose ``Host`` header
    matches none of the server's ``--allowed-hosts`` (mlflow 3.14 ``server/security.py``
    ``validate_host``: ``is_allowed_host_header``, an exact or ``fnmatch`` match, ``server/security_utils.py``;
    the flag replaces the default list, which holds the loopback addresses). The client's Host (``host``,
    the one sent) is the host and port of the URL it was given (a ``kubectl port-forward`` tunnel keeps
    it), so the fix is an address the server allows: the compiled registry allows its Service names and
    :data:`~mlops_infra.compile.kubernetes.registry.PORT_FORWARD_HOSTS` (``compile/kubernetes/registry.py``
    ``server_args``)."""
    from mlops_infra.compile.kubernetes.registry import PORT_FORWARD_HOSTS
    from mlops_infra.secrets import redact

    host = host.rpartition("@")[2]
    allowed = ", ".join(h.replace("[[]", "[") for h in PORT_FORWARD_HOSTS)
    return UserError(f"MLflow refused reading {what}: Host header {redact(host)!r} not allowed (HTTP 403 "
                     f"\"{INVALID_HOST}\")",
                     f"The MLflow server answers only the hosts of its --allowed-hosts. The registry mlops-infra "
                     f"compiles allows its Service names ({kube_names.REGISTRY}, {kube_names.REGISTRY}.<namespace>"
                     f"[.svc[.cluster.local]], with or without :{kube_names.REGISTRY_PORT}) and {allowed}: after "
                     f"`kubectl port-forward svc/{kube_names.REGISTRY} 5000 -n <namespace>` use "
                     f"http://127.0.0.1:5000 or http://localhost:5000 (a registry applied before mlops-infra "
                     f"allowed 127.0.0.1 allows only localhost:*: use http://localhost:5000, or apply again). "
                     f"Another MLflow server: add {host or 'the host you use'} to its --allowed-hosts "
                     f"(MLFLOW_SERVER_ALLOWED_HOSTS).")


def http_fetch(uri: str, opener: Callable[..., Any] | None = None) -> Fetch:
    """GETs of the MLflow REST API at ``uri`` (:func:`mlflow_call`; ``opener`` defaults to ``urlopen``)."""

    def fetch(api_path: str, query: Mapping[str, str], what: str) -> dict[str, Any]:
        url = f"{uri.rstrip('/')}/api/2.0/mlflow/{api_path}?{urllib.parse.urlencode(dict(query))}"
        return mlflow_call(url, opener=opener or urllib.request.urlopen, what=what)

    return fetch


def proxy_path(namespace: str) -> str:
    """The registry's API-server service-proxy path (see the module contract)."""
    return f"/api/v1/namespaces/{namespace}/services/{kube_names.REGISTRY}:{PROXY_PORT}/proxy"


def proxy_fetch(kube: Any, namespace: str) -> Fetch:
    """GETs of the MLflow REST API through the API server's service proxy, with ``kube`` (a
    :class:`~mlops_infra.kube.KubeClient`); a 403 names the permission it needs."""
    from mlops_infra.kube.errors import KubeForbidden

    base = proxy_path(namespace)
    host = f"{kube_names.REGISTRY}.{namespace}"

    def fetch(api_path: str, query: Mapping[str, str], what: str) -> dict[str, Any]:
        try:
            return kube.request("GET", f"{base}/api/2.0/mlflow/{api_path}", query=list(query.items()),
                                what=f"read {what} through the service proxy of {kube_names.REGISTRY}",
                                headers={"Host": host})
        except KubeForbidden as err:
            raise UserError(f"{err.summary}", f"Reading the MLflow registry through the API server needs RBAC "
                            f"{PROXY_PERMISSION} in namespace {namespace} (a Role rule: apiGroups [\"\"], "
                            f"resources [services/proxy], verbs [get]), or set MLFLOW_TRACKING_URI to a "
                            f"reachable registry (kubectl port-forward svc/{kube_names.REGISTRY} 5000 -n "
                            f"{namespace}). {err.message}".strip()) from None

    return fetch


def search_versions(fetch: Fetch, name: str) -> list[dict[str, Any]]:
    """Every version of the registered model ``name`` (``SearchModelVersions``, all pages)."""
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        query = {"filter": f"name='{name}'", "max_results": str(MLFLOW_PAGE_SIZE), **({"page_token": token} if token else {})}
        page = fetch("model-versions/search", query, f"the versions of {name}")
        found += page.get("model_versions") or []
        token = page.get("next_page_token") or ""
        if not token:
            return found


def mlflow_record(version: Mapping[str, Any]) -> VersionRecord | None:
    """One MLflow model version as a :class:`VersionRecord` (None: no version number)."""
    try:
        number = int(version.get("version"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    tags = {t.get("key"): t.get("value") for t in version.get("tags") or () if isinstance(t, dict)}
    approval = {"approved": APPROVED, "rejected": REJECTED}.get(str(tags.get(MLFLOW_APPROVAL_TAG, "")).lower(),
                                                               "PendingManualApproval")
    return VersionRecord(number, approval, MLFLOW_STATUS.get(str(version.get("status")), version.get("status")),
                         None, version.get("source"), None, None, tags.get(MLFLOW_DIGEST_TAG))


def download_uri(fetch: Fetch, model: str, version: int) -> str | None:
    """Where MLflow says ``model`` ``version``'s artifacts are: the ``artifact_uri`` of
    ``GetModelVersionDownloadUri`` (see the module contract); None when it gives none."""
    answer = fetch(DOWNLOAD_URI, {"name": model, "version": str(version)},
                   f"where the artifacts of {model} v{version} are")
    uri = answer.get("artifact_uri")
    return uri if isinstance(uri, str) and uri else None


def resolve_sources(fetch: Fetch, model: str, versions: dict[int, VersionRecord],
                    wanted: Iterable[int]) -> dict[int, VersionRecord]:
    """``versions`` with the artifact URI of each ``wanted`` version whose ``source`` KServe cannot
    download replaced by MLflow's download URI when KServe downloads that (see the module contract):
    one GET per such version, none for the others."""
    resolved = dict(versions)
    for number in sorted(set(wanted)):
        record = resolved.get(number)
        if record is None or not record.artifact_uri or downloadable(record.artifact_uri):
            continue
        located = download_uri(fetch, model, number)
        if downloadable(located):
            resolved[number] = dataclasses.replace(record, artifact_uri=located)
    return resolved


def model_registry(fetch: Fetch, model: str, where: str, resolve: Iterable[int] = ()) -> ModelRegistry:
    """``model``'s versions as read (basis ``registry``, complete); the versions in ``resolve`` (those an
    endpoint pins or serves) located by :func:`resolve_sources`."""
    versions = {r.version: r for r in (mlflow_record(v) for v in search_versions(fetch, model)) if r}
    return ModelRegistry(model, where, "registry", True, resolve_sources(fetch, model, versions, resolve))


def pinned_or_served(system: Any, view: RegistryView) -> dict[str, set[int]]:
    """Per model, the versions the system's endpoints pin or serve (``view.serving``, the prior state's, each a
    version of the model ``view.serving_models`` names: :meth:`RegistryView.runs`): the versions whose artifacts a
    compile of ``system`` downloads. An endpoint switched to another model served a version of the OLD model
    (MLflow numbers each registered model's versions from 1), located in that model's registry; before, its
    number was added to the new model's (left43a)."""
    out: dict[str, set[int]] = {}
    for endpoint in system.endpoints:
        for model, version in view.runs(endpoint.name, endpoint.model.name, endpoint.model.version):
            out.setdefault(model, set()).add(version)
    return out


def read_mlflow(system: Any, uri: str, *, opener: Callable[..., Any] | None = None) -> RegistryView:
    """Every model's versions in the MLflow registry at ``uri``, the versions ``system``'s endpoints pin
    located (:func:`resolve_sources`); a failed read raises (fails closed)."""
    fetch = http_fetch(uri, opener)
    pins = pinned_or_served(system, RegistryView())
    return RegistryView({m.name: model_registry(fetch, m.name, f"MLflow registered model {m.name} at {uri}",
                                                pins.get(m.name, ()))
                         for m in system.models})


def read_registry(system: MLSystem, env: str, prior: PriorState, *, tracking_uri: str | None = None,
                  connect: Callable[[], Any] | None = None, stack_dir: Path | None = None,
                  strict: bool = False) -> RegistryView:
    """The registry view read from the environment's MLflow (see the module contract).

    ``tracking_uri`` defaults to ``MLFLOW_TRACKING_URI``; without one, ``connect()`` gives the
    :class:`~mlops_infra.kube.KubeClient` (default: of the cluster ``pulumi up`` in ``stack_dir`` changes,
    ``strict`` as apply reads it; without ``stack_dir``, of the environment's context)."""
    offline = kube_offline_view(system, env, prior)
    if not _registry_in(offline):
        return offline
    namespace = system.environments[env].target.namespace
    uri = tracking_uri if tracking_uri is not None else os.environ.get("MLFLOW_TRACKING_URI") or None
    kube = None
    try:
        if uri:
            fetch, via = http_fetch(uri), f" at {uri}"
        else:
            kube = (connect or _connector(system, env, stack_dir, strict))()
            fetch, via = proxy_fetch(kube, namespace), ""
        models: dict[str, ModelRegistry] = {}
        warnings: list[str] = []
        pins = pinned_or_served(system, offline)
        for model in system.models:
            try:
                models[model.name] = model_registry(fetch, model.name, mlflow_where(system, env, model.name, via),
                                                    pins.get(model.name, ()))
            except Exception as error:  # keep the offline evidence, and say so
                warnings.append(f"could not read the registry of {model.name} "
                                f"({mlflow_where(system, env, model.name, via)}): {_why(error)}; its versions were "
                                "decided from the prior state")
                if model.name in offline.models:
                    models[model.name] = offline.models[model.name]
        view = dataclasses.replace(offline, models=models)
        return dataclasses.replace(view, warnings=tuple(warnings) + source_warnings(system, view))
    except Exception as error:  # no client (no kubeconfig, an unknown context): nothing can be read
        return dataclasses.replace(offline, warnings=(
            f"could not read the model registry ({kube_names.REGISTRY} in namespace {namespace}): {_why(error)}; "
            "versions were decided from the prior state",))
    finally:
        if kube is not None:
            kube.close()


def source_warnings(system: MLSystem, view: RegistryView) -> tuple[str, ...]:
    """One warning per version an endpoint pins or serves (each of its own registered model:
    :meth:`RegistryView.runs`) whose MLflow ``source`` KServe's storage
    initializer cannot download (``models:/``, ``runs:/``, ``mlflow-artifacts:/``...:
    :func:`mlops_infra.compile.kubernetes.artifacts.downloadable`), nor the location MLflow gives for it
    (:func:`resolve_sources` replaced the artifact URI of a version it located): the compiler serves it from the
    documented layout instead (:func:`~mlops_infra.compile.kubernetes.artifacts.storage_uri`), and the
    plan says so, since only the registry knows whether the artifacts are there. For an ``oci://``
    source it adds what KServe 0.15 does with one: it runs an OCI model image only as a modelcar, which
    a cluster turns on in the ``inferenceservice-config`` ConfigMap's ``storageInitializer``
    (``"enableModelcar": true``; kserve v0.15.0 ``pkg/webhook/admission/pod/mutator.go`` appends
    ``InjectModelcar`` only ``if storageInitializer.config.EnableOciImageSource``, and
    ``config/configmap/inferenceservice.yaml`` ships ``"enableModelcar": false``), a cluster setting
    a system spec cannot declare, so the compiler does not count on it."""
    from mlops_infra.compile.kubernetes.artifacts import KSERVE_URI_PREFIXES, OCI_PREFIX
    from mlops_infra.secrets import redact

    out = []
    for endpoint in system.endpoints:
        for model, version in view.runs(endpoint.name, endpoint.model.name, endpoint.model.version):
            held = view.models.get(model)  # a served version is of its own model (left43a)
            record = held.versions.get(version) if held is not None else None
            source = record.artifact_uri if record is not None else None
            if source and not downloadable(source):
                modelcar = (" (KServe runs an OCI model image only as a modelcar, which the cluster turns on in the "
                            "inferenceservice-config ConfigMap's storageInitializer \"enableModelcar\": true, off in "
                            "KServe 0.15's defaults; a system spec cannot declare it, so mlops-infra does not count "
                            "on it)") if str(source).startswith(OCI_PREFIX) else ""
                out.append(f"endpoint {endpoint.name}: {model} v{version}'s MLflow source {redact(str(source))!r} is not "
                           f"a URI KServe's storage initializer downloads ({', '.join(KSERVE_URI_PREFIXES)}){modelcar}, "
                           "so it is served from the documented layout (docs/compile-kubernetes.md, section 3.5) instead "
                           "(nor is the location MLflow gives for it, GetModelVersionDownloadUri); log the model in an "
                           "experiment whose artifact location is an s3:// bucket (MLflow then locates its models:/ "
                           "source there), or register the version with the s3:// folder of its artifacts as its source")
    return tuple(out)


def _registry_in(view: RegistryView) -> bool:
    """Whether the prior state held the registry (some model's basis is not ``created-now``)."""
    return any(r.basis != "created-now" for r in view.models.values())


def _connector(system: MLSystem, env: str, stack_dir: Path | None, strict: bool) -> Callable[[], Any]:
    def connect() -> Any:
        from mlops_infra.kube import KubeClient
        from mlops_infra.kube.effective_context import stack_options

        purpose = "read the MLflow registry through the API server's service proxy" if strict else None
        return KubeClient.connect(stack_options(system.environments[env].target.context, stack_dir, env, purpose))

    return connect


def _why(error: Exception) -> str:
    from mlops_infra.secrets import redact

    if isinstance(error, UserError):
        return redact(f"{error.summary}: {error.detail}" if error.detail else error.summary)
    return redact(f"{type(error).__name__}: {error}")
