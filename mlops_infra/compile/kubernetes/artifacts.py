"""Where a Kubernetes endpoint's model version is: the URI KServe's storage initializer downloads.

Contract of :func:`storage_uri` (pure; ``compile/kubernetes/serving.py`` puts it in the predictor):

- The environment's registry view (``compile_system(..., registry=view)``) gives the served version's
  artifact URI, and KServe can download it (:func:`downloadable`): that URI, an ``s3://`` folder with
  a trailing ``/`` (:func:`kserve_uri`, below). On Kubernetes the view's
  ``artifact_uri`` is the MLflow model version's ``source`` (:func:`mlops_infra.state.mlflow_registry.read_registry`,
  read by ``plan --refresh`` and ``apply``): where the version's artifacts really are, whoever registered it;
  for a pinned or served version whose ``source`` is not downloadable, the location MLflow gives for it
  when that is (``GetModelVersionDownloadUri``: MLflow 3 registers a model logged with
  ``mlflow.<flavor>.log_model`` with the source ``models:/m-<id>`` and keeps its files at
  ``<experiment artifact location>/models/m-<id>/artifacts``; :func:`mlops_infra.state.mlflow_registry.resolve_sources`).
- Otherwise (an offline plan, ``mlops-infra graph``, a version whose source KServe cannot download,
  which the registry read warns of) the documented layout (:func:`layout_uri`):

  * a model a training job of the system ``registers``: ``s3://<models bucket>/<model>/<version>/``,
    where a run writes it (``MLOPS_MODEL_URI_PREFIX`` = ``s3://<models bucket>/<model>/``,
    ``compile/kubernetes/training.py``; the registration contract of docs/compile-kubernetes.md 3.3:
    ``<MLOPS_MODEL_URI_PREFIX><version>/`` is also the version's MLflow ``source``);
  * a model no job here registers that names ``artifacts_uri`` (versions registered by another
    pipeline): ``<artifacts_uri>/<version>/`` (docs/spec.md ``artifacts_uri``); before this module the
    compiler served such a model from the models bucket, where nothing writes it, so the predictor never
    became ready (below);
  * any other model: the models bucket layout.

Why it matters. KServe's storage initializer lists the URI's path as an S3 prefix and downloads every
object under it to ``/mnt/models``; with none it fails "Failed to fetch model. No model found in
<path>." (kserve v0.15.0 ``python/kserve/kserve/storage/storage.py`` ``Storage._download_s3``; at
kserve master ``python/storage/kserve_storage/kserve_storage.py``), the predictor never becomes
ready, and ``pulumi up`` still reports success (pulumi-kubernetes does not await a custom resource:
``compile/kubernetes/serving.py``).

What KServe downloads (:data:`KSERVE_URI_PREFIXES`): KServe 0.15's controller accepts a storage URI
that starts with one of ``SupportedStorageURIPrefixList`` (``gs://``, ``s3://``, ``pvc://``,
``file://``, ``https://``, ``http://``, ``hdfs://``, ``webhdfs://``, ``oci://``, ``hf://``) or is a
local path, and refuses the InferenceService otherwise ("StorageURI not supported": kserve v0.15.0
``pkg/controller/v1beta1/inferenceservice/utils/utils.go`` ``ValidateStorageURI``,
``components/predictor.go`` ``addStorageInitializerAnnotations``). Admitted is not downloaded; the
storage initializer (kserve v0.15.0 ``python/kserve/kserve/storage/storage.py`` ``Storage.download``)
fetches less:

- MLflow's own forms (``models:/``, ``runs:/``, ``mlflow-artifacts:/``) pass the controller's check
  as "local paths", then fail "Cannot recognize storage type" (the dispatch's last branch).
- ``oci://`` has no branch in that dispatch either ("Cannot recognize storage type"). Only a modelcar
  skips the initializer for it (``pkg/webhook/admission/pod/storage_initializer_injector.go``
  ``InjectStorageInitializer``: ``if mi.config.EnableOciImageSource && strings.HasPrefix(srcURI,
  OciURIPrefix) { return nil }``), and KServe ships it off (``config/configmap/inferenceservice.yaml``
  ``"enableModelcar": false``); a system spec declares nothing about the cluster's modelcar setting.
- ``file://`` goes to ``Storage._download_local``, which reads the path inside the storage-initializer
  container (``if not os.path.exists(local_path): raise RuntimeError("Local path %s does not
  exist.")``): an MLflow ``file://`` source is a path on the registering client or on the MLflow
  server's volume, never in that container.

None of these is downloadable here: the registry read warns of such a source
(:func:`mlops_infra.state.mlflow_registry.source_warnings`) and the layout is served.

An ``s3://`` source names a folder: the trailing ``/`` (:func:`kserve_uri`). KServe's storage initializer
lists an S3 URI's path as a bare prefix (kserve v0.15.0 ``Storage._download_s3``, unchanged through
v0.15.2 and at master's ``kserve_storage.py``: ``bucket.objects.filter(Prefix=bucket_path)``, no ``/``
added) and names each object it downloads by what follows that prefix
(``re.sub(r"^" + re.escape(bucket_path) + r"/?", "", obj.key)``). MLflow writes a version's ``source``
without a trailing ``/`` (mlflow 3.14 ``tracking/_model_registry/fluent.py`` ``_register_model``:
a ``runs:/`` model URI whose run folder holds an ``MLmodel`` becomes
``RunsArtifactRepository.get_underlying_uri``, e.g. ``s3://<bucket>/1/<run>/artifacts/model``; one whose
run folder holds none, the usual case of ``log_model`` in MLflow 3, becomes ``models:/m-<id>``, located
at ``<experiment artifact location>/models/m-<id>/artifacts``, again without a ``/``), so ``.../model``
also downloaded ``.../model_v2/...`` (as
``/mnt/models/_v2/...``) and ``.../churn/1`` also ``.../churn/10/...``. MLflow's own contract: a model
version's ``source`` is "the location of the model artifacts" (``MlflowClient.create_model_version``),
an MLflow Model is a directory with its ``MLmodel`` file at the root (``_register_model`` takes the
run's folder only when ``MLmodel`` is in it), and MLflow reads a version by opening its source as the
root of an artifact repository, which lists ``<path>/`` (``ModelsArtifactRepository`` ->
``get_artifact_repository(download_uri)``; ``S3ArtifactRepository.list_artifacts``: ``prefix =
dest_path + "/"``). So ``<source>/`` is exactly what MLflow itself would load. A source whose last
segment names a file (a ``.`` in it: ``model.joblib``, ``model.tar.gz``) is kept as registered: KServe
downloads an object whose key equals the path alone, under its base name (``if bucket_path ==
obj.key: ... exact_obj_found``, then ``break``; a single archive is unpacked), and ``<file>/`` would
list nothing ("No model found"). Other schemes are kept as registered: ``gs://`` already lists
``<path>/`` (``_download_gcs``: ``if not prefix.endswith("/"): prefix = prefix + "/"``) and downloads
a path with nothing under it as one file; ``hdfs://``/``webhdfs://`` ask the name node whether the
path is a FILE or a DIRECTORY (``_download_hdfs`` ``client.status``); ``http(s)://`` is one file
(``_download_from_uri``); ``pvc://`` is a mounted path (``_download_local``); ``hf://`` a repository.

The limit of that rule (closing-35b-2): it guesses file or folder from the name, while KServe decides by
listing (v0.15.0 ``_download_s3`` above: an exact key is one file, and ``file_count == 0`` raises
``RuntimeError("Failed to fetch model. No model found in ...")``; ``_download_gcs`` likewise lists).
So a new version whose source is one object without an extension (``s3://.../exports/churn/model``, a
custom predictor's TorchScript blob) gets a ``/`` and lists nothing, and a folder whose last segment has a
``.`` (``.../churn/v1.2``) is kept and also downloads ``.../churn/v1.20/...``. The user registers a file
with its extension and a folder under a name without a ``.`` (or a source ending in ``/``); the docs say so
(docs/compile-kubernetes.md 3.5). The compiler never lists: it is pure.

A URI already served is kept exactly (:func:`served_uri`): when the prior state's InferenceService
downloads, for the version compiled, the registry's source itself or its :func:`kserve_uri`
(``RegistryView.served_uris``, set by :func:`mlops_infra.state.model_registry.kube_offline_view` and
kept by :func:`mlops_infra.state.mlflow_registry.read_registry`), that stored URI is compiled, offline
or after a registry read. An existing stack therefore plans no change: a stack applied before the
rule keeps serving a one-file source that downloads, and only a version not yet served gets the rule.
"""

from __future__ import annotations

from typing import Any

KSERVE_URI_PREFIXES = ("gs://", "s3://", "pvc://", "https://", "http://", "hdfs://", "webhdfs://", "hf://")
"""The URIs KServe 0.15's storage initializer downloads: ``SupportedStorageURIPrefixList``
(``pkg/controller/v1beta1/inferenceservice/utils/utils.go``) without ``file://`` and ``oci://`` (see the
module contract). A ``pvc://`` claim is mounted at ``/mnt/pvc`` and the URI rewritten to that path
(``storage_initializer_injector.go`` ``PvcSourceMountPath``), which ``Storage.download`` reads."""


OCI_PREFIX = "oci://"
"""An OCI model image: KServe runs it only as a modelcar (see the module contract)."""
S3_PREFIX = "s3://"
"""KServe's storage initializer lists an S3 path as a bare prefix (:func:`kserve_uri`)."""

STORAGE_URI_ENV = "STORAGE_URI"
PREDICTOR_CONTAINER = "kserve-container"
"""A custom predictor's container and the env variable holding its storage URI (kserve v0.15.0
``pkg/constants/constants.go`` ``InferenceServiceContainerName``, ``CustomSpecStorageUriEnvVarKey``;
``compile/kubernetes/serving.py`` ``custom_container``)."""


def downloadable(uri: str | None) -> bool:
    """Whether KServe's storage initializer downloads ``uri`` (see the module contract)."""
    return bool(uri) and str(uri).startswith(KSERVE_URI_PREFIXES)


def models_uri(models_bucket: str, model: str, version: int) -> str:
    """``s3://<models bucket>/<model>/<version>/``: where a training run of this system writes a version."""
    return f"s3://{models_bucket}/{model}/{version}/"


def layout_uri(system: Any, models_bucket: str, model: str, version: int) -> str:
    """Where ``model`` ``version`` is by the documented layout (see the module contract)."""
    declared = system.item("models", model)
    registered_here = any(job.registers == model for job in system.training_jobs)
    if declared is not None and declared.artifacts_uri and not registered_here:
        return f"{declared.artifacts_uri.rstrip('/')}/{version}/"
    return models_uri(models_bucket, model, version)


def registered_uri(registry: Any, model: str, version: int) -> str | None:
    """The artifact URI the registry view holds for ``model`` ``version`` (None: not known)."""
    held = registry.models.get(model)
    record = held.versions.get(version) if held is not None else None
    return record.artifact_uri if record is not None else None


def kserve_uri(uri: str) -> str:
    """``uri`` as KServe downloads the registered artifact and nothing beside it: an ``s3://`` folder
    with a trailing ``/`` (a last segment without a ``.``, not the bucket itself), anything else as
    given (see the module contract). A guess from the name: KServe decides by listing (kserve v0.15.0
    ``python/kserve/kserve/storage/storage.py`` ``Storage._download_s3``), so one object without an
    extension gets a ``/`` ("No model found") and a folder named with a ``.`` is kept; applied only to
    a version not yet served (:func:`storage_uri`)."""
    if not uri.startswith(S3_PREFIX):
        return uri
    path = uri[len(S3_PREFIX):].partition("/")[2]
    if not path or path.endswith("/") or "." in path.rsplit("/", 1)[-1]:
        return uri
    return f"{uri}/"


def served_uri(registry: Any, model: str, version: int) -> str | None:
    """The storage URI the prior state's InferenceService downloads for ``model`` ``version``
    (``RegistryView.served_uris``, Kubernetes; None: not served)."""
    return ((getattr(registry, "served_uris", None) or {}).get(model) or {}).get(version)


def storage_uri(system: Any, registry: Any, models_bucket: str, model: str, version: int) -> str:
    """The URI an InferenceService serving ``model`` ``version`` downloads (see the module contract):
    the URI already served for that version from that source exactly as stored, else :func:`kserve_uri`
    of a downloadable source, else the layout."""
    known = registered_uri(registry, model, version)
    if not downloadable(known):
        return layout_uri(system, models_bucket, model, version)
    kept = served_uri(registry, model, version)
    return kept if kept is not None and kept in (known, kserve_uri(str(known))) else kserve_uri(str(known))


def predictor_storage_uri(predictor: Any) -> str | None:
    """The storage URI of an InferenceService's predictor as compiled (or applied): ``model.storageUri``,
    or a custom predictor's ``kserve-container`` env ``STORAGE_URI``; None when it holds neither."""
    if not isinstance(predictor, dict):
        return None
    model = predictor.get("model")
    if isinstance(model, dict) and isinstance(model.get("storageUri"), str):
        return model["storageUri"]
    for container in predictor.get("containers") or ():
        if isinstance(container, dict) and container.get("name") == PREDICTOR_CONTAINER:
            for env in container.get("env") or ():
                if isinstance(env, dict) and env.get("name") == STORAGE_URI_ENV and isinstance(env.get("value"), str):
                    return env["value"]
    return None
