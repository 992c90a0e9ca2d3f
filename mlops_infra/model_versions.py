"""What an environment's model registry holds: the pure input that decides which endpoints can exist.

A model *version* is a number per registry: SageMaker numbers the model packages of one group 1, 2,
3... in one account and region, so "v12" in prod's new group cannot exist before something registers
twelve versions there (review finding A1). An endpoint whose pinned version is not in its registry
(or not approved there, when the environment gates on approval) must not be applied: the model,
endpoint configuration, endpoint and autoscaling wait for it, and the plan says why.

Contract:
- Everything here is frozen, JSON-friendly data and pure functions: no clock, no I/O. The compiler
  reads a :class:`RegistryView` (``compile_system(system, env, registry=view)``); it never fetches one.
- Views are built elsewhere, from evidence, and say which (:data:`Basis`):
  ``registry`` -- read from the registry now (``plan --refresh``, ``apply``:
  :func:`mlops_infra.state.aws_live.model_registry.read_registry`); ``created-now`` -- the model's
  group is not in the prior state, so this apply creates it and it holds no versions yet;
  ``prior-state`` -- the last apply created a model from that version, so it existed then;
  ``unverified`` -- nothing proves it either way (an offline plan of a group that exists): the version
  is assumed and the plan says it was not checked. Offline views come from
  :func:`mlops_infra.state.model_registry.offline_registry_view` (both targets; on Kubernetes the
  registry is the environment's MLflow, finding firstapply-2), registry reads from
  :func:`mlops_infra.state.aws_live.model_registry.read_registry` (SageMaker) and
  :func:`mlops_infra.state.mlflow_registry.read_registry` (MLflow).
- :meth:`RegistryView.decide` answers, per endpoint: ``ready`` (serve the pinned version),
  ``holding`` (the pinned version is not available; keep serving the version the prior state proves,
  so an existing endpoint is never deleted for a version that does not exist yet, nor for the version
  it already serves when the registry no longer shows it available, e.g. a version registered before
  its approval tag was read or whose approval was withdrawn: closing audit closing-c-1, where the first
  ``apply`` of an upgraded Kubernetes environment deleted every serving endpoint of a manual model;
  "already serves it" is the same registered model AND number, ``RegistryView.serves``: an endpoint
  switched to another model keeps serving the model it served, ``Decision.serve_model``, never the new
  model's version of the served number)
  or ``waiting``
  (nothing to serve yet: the endpoint's serving resources are left out of the graph).
- A version is available when it is registered, its package status is ``Completed`` (or unknown),
  it is not ``Rejected``, and -- when ``gated`` or ``sagemaker`` -- its approval status is ``Approved``
  (SageMaker ``ModelPackageSummary.ModelApprovalStatus``: Approved | Rejected | PendingManualApproval;
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-approve.html). ``gated`` is the spec's
  rule (:func:`serves_approved_only`); ``sagemaker`` is AWS's own, whatever the spec says
  (:func:`deploys_approved_only`, audit registry-2): "For versioned models, the value of this parameter
  must be set to ``Approved`` to deploy the model" (botocore ``sagemaker``
  ``CreateModelPackageInput.ModelApprovalStatus``; API reference CreateModelPackage). On Kubernetes
  nothing enforces an approval, so there only ``gated`` holds.
- A version whose registration failed (SageMaker ``ModelPackageStatus`` ``Failed``, MLflow
  ``FAILED_REGISTRATION``) never becomes available: neither registry retries it (MLflow
  ``ModelVersionStatus``: ``FAILED_REGISTRATION`` "Request to register a new model version has failed",
  ``READY`` "Model version is ready for use"; botocore ``ModelPackageStatus``: Pending | InProgress |
  Completed | Failed | Deleting), so the message asks for a new registration, not a wait (audit
  registry-6); MLflow statuses are named in MLflow's words (:data:`MLFLOW_WORDS`).
- An endpoint whose live read failed (``RegistryView.running_unread``: a registry read could not tell
  which versions its config's variants run, so a canary's previous version and its image are unknown)
  gets a decision with ``running_unread`` (closing-33d-2): the plan warns when its serving role loses a
  pull (:mod:`mlops_infra.plan.serving_pull`). Like the rest of a decision it is left out of the graph
  digest: what a read failed to learn is not a change to apply.
- For promotion (issue 7): each :class:`VersionRecord` may carry the artifact's ``digest`` (the
  package's ``CustomerMetadataProperties[DIGEST_PROPERTY]``), its artifact URI and image, and
  :meth:`RegistryView.find_digest` finds the version that holds a given artifact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Basis = Literal["registry", "created-now", "prior-state", "unverified"]
State = Literal["ready", "holding", "waiting"]

APPROVED = "Approved"
REJECTED = "Rejected"
COMPLETED = "Completed"
REGISTRY_VIEW_ENV = "MLOPS_INFRA_REGISTRY_VIEW"
"""Environment variable naming a RegistryView JSON file: how ``mlops-infra apply`` hands the view it
decided with to the Pulumi program, so ``pulumi up`` registers exactly the graph the plan showed."""
AWS_CREATES = "its model, endpoint configuration, endpoint and autoscaling"
"""What a waiting SageMaker endpoint's next apply creates (:meth:`RegistryView.decide` ``creates``)."""
RUNNING_UNREAD_KEY = "runningUnread"
"""The key of a decision's JSON (``graph.model_versions[address]``) set when the registry read could not
read which versions the endpoint's live config runs (:attr:`Decision.running_unread`);
``plan/serving_pull.pull_warnings`` reads it."""
MLFLOW_WHERE = "MLflow registered model"
"""How a Kubernetes environment's registry names itself in messages (``state/model_registry.mlflow_where``)."""
MLFLOW_APPROVAL_STATUS_TAG = "mlops-infra.approval-status"
"""The MLflow version tag that holds a Kubernetes version's approval (MLflow has no approval state)."""
MLFLOW_WORDS = {"Completed": "READY", "Pending": "PENDING_REGISTRATION", "Failed": "FAILED_REGISTRATION"}
"""A record's status -> MLflow's ``ModelVersionStatus`` name (the inverse of the reader's mapping,
``state/mlflow_registry.MLFLOW_STATUS``), so a message about an MLflow version uses MLflow's words."""
FAILED = "Failed"
DELETING = "Deleting"
DIGEST_PROPERTY = "mlops-infra/artifact-digest"
"""The model package's ``CustomerMetadataProperties`` key holding the artifact's digest (``sha256:...``)."""


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One registered version as far as it is known (None = not known)."""

    version: int
    approval: str | None = None
    """ModelApprovalStatus: Approved, PendingManualApproval or Rejected."""
    status: str | None = None
    """ModelPackageStatus: Pending, InProgress, Completed, Failed or Deleting."""
    arn: str | None = None
    artifact_uri: str | None = None
    image: str | None = None
    image_digest: str | None = None
    digest: str | None = None
    """The artifact's digest (``sha256:...``): the identity promotion maps between registries."""
    artifact_compression: str | None = None
    """How the registry says the artifact is stored: :data:`GZIP` (a ``.tar.gz`` archive),
    :data:`UNCOMPRESSED`, or None (not said: an MLflow version; see :func:`compression_of`)."""

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "approval": self.approval, "status": self.status, "arn": self.arn,
                "artifactUri": self.artifact_uri, "artifactCompression": self.artifact_compression,
                "image": self.image, "imageDigest": self.image_digest, "digest": self.digest}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionRecord:
        return cls(int(data["version"]), data.get("approval"), data.get("status"), data.get("arn"),
                   data.get("artifactUri"), data.get("image"), data.get("imageDigest"), data.get("digest"),
                   data.get("artifactCompression"))


GZIP = "Gzip"
UNCOMPRESSED = "None"
"""SageMaker's ``ModelCompressionType`` values (botocore ``S3ModelDataSource.CompressionType``)."""


def container_model_data(container: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(S3 URI, compression)`` of one SageMaker container's model data (botocore
    ``ModelPackageContainerDefinition``), ``(None, None)`` when it carries none.

    - ``ModelDataUrl`` "must point to a single gzip compressed tar archive (.tar.gz suffix)"
      (botocore ``ModelPackageContainerDefinition.ModelDataUrl``): :data:`GZIP`;
    - ``ModelDataSource.S3DataSource``: its ``S3Uri`` and ``CompressionType``; an ``S3Prefix`` URI
      is given its trailing slash ("A valid key name prefix identified by S3Uri always ends with a
      forward slash", ``S3ModelDataSource.S3DataType``), so a URI ending in ``/`` is a prefix here.
    """
    if container.get("ModelDataUrl"):
        return str(container["ModelDataUrl"]), GZIP
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    if not source.get("S3Uri"):
        return None, None
    uri = str(source["S3Uri"])
    if source.get("S3DataType") == "S3Prefix" and not uri.endswith("/"):
        uri += "/"
    return uri, source.get("CompressionType")


def compression_of(uri: str, compression: str | None) -> str:
    """How an artifact at ``uri`` is stored: ``compression`` when its registry said, else from its
    name: a prefix (``.../``, the folder an MLflow version's ``source`` names) is uncompressed, one
    object is a gzip tar archive when it is named ``.tar.gz`` or ``.tgz`` (what KServe's storage
    initializer unpacks, ``kserve/storage/storage.py``), else an uncompressed file."""
    if compression in (GZIP, UNCOMPRESSED):
        return compression
    if uri.endswith("/"):
        return UNCOMPRESSED
    return GZIP if uri.endswith((".tar.gz", ".tgz")) else UNCOMPRESSED


@dataclass(frozen=True, slots=True)
class ModelRegistry:
    """What is known of one model's versions in one environment's registry.

    ``where`` names the registry for people (``group fraud-detection-prod-fraud-model in
    222222222222/eu-west-1``); ``complete`` is True when ``versions`` lists every version that
    exists (a registry read, or a group this apply creates: none).
    """

    model: str
    where: str
    basis: Basis
    complete: bool
    versions: Mapping[int, VersionRecord] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "where": self.where, "basis": self.basis, "complete": self.complete,
                "versions": [self.versions[v].to_json() for v in sorted(self.versions)]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelRegistry:
        versions = {r.version: r for r in map(VersionRecord.from_json, data.get("versions") or ())}
        return cls(data["model"], data["where"], data["basis"], bool(data["complete"]), versions)


@dataclass(frozen=True, slots=True)
class Decision:
    """What one endpoint serves, and why (see the module contract)."""

    state: State
    model: str
    pinned: int
    serve: int | None
    basis: Basis
    why: str
    """A clause on the pinned version (``not registered in group ...; register v12 there ...``)."""
    running_unread: bool = False
    """The registry read could not read which versions the endpoint's live config runs
    (``RegistryView.running_unread``, closing-33d-2): a canary's previous version may run there, its
    image unknown. Written as :data:`RUNNING_UNREAD_KEY` only when set; ``graph.model_versions`` holds it,
    which the graph digest leaves out, so a read that failed this time does not make a saved plan stale."""
    serve_model: str | None = None
    """Set on a ``holding`` decision of an endpoint switched to another registered model: the model whose
    version ``serve`` is (``RegistryView.serving_models``), which the endpoint keeps serving (``serve`` is a
    version of that model, not of ``model``); None: ``serve`` is a version of ``model``. Written as
    ``serveModel`` only when set."""

    @property
    def served_model(self) -> str:
        """The registered model ``serve`` is a version of."""
        return self.serve_model or self.model

    def held(self, endpoint: Any) -> Any:
        """The spec's ``endpoint`` as the compile serves it: on a ``holding`` decision, pinned to the held version
        ``serve`` of :attr:`served_model` (both clouds' compile); else ``endpoint`` as it is."""
        if self.state != "holding":
            return endpoint
        held = {"name": self.served_model, "version": self.serve}
        return endpoint.model_copy(update={"model": endpoint.model.model_copy(update=held)})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "model": self.model, "pinned": self.pinned, "serve": self.serve,
                               "basis": self.basis, "why": self.why}
        if self.serve_model is not None:
            out["serveModel"] = self.serve_model
        if self.running_unread:
            out[RUNNING_UNREAD_KEY] = True
        return out


@dataclass(frozen=True)
class RegistryView:
    """One environment's registry knowledge: per model, and per endpoint the version it serves.

    ``serving`` maps endpoint names to the version the prior state proves each one serves (the
    model the last apply created); ``running`` maps endpoint names to every version OF THE MODEL THE
    SPEC PINS that their live endpoint config's variants run, as a registry read found them (a canary's
    previous version runs beside the new one; empty offline:
    :func:`mlops_infra.state.aws_live.model_registry.read_live`), and :attr:`running_models` the versions
    of the other models they run; :meth:`runs` names each version with its model;
    ``warnings`` are reads that failed (the decision then falls back on offline evidence and the plan
    shows the warning).
    """

    models: Mapping[str, ModelRegistry] = field(default_factory=dict)
    serving: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    running: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    running_unread: tuple[str, ...] = ()
    """Endpoints whose live read failed (sorted): which versions they run is unknown (closing-33d-2);
    their decisions say so (``Decision.running_unread``)."""
    served_uris: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    """Kubernetes: model -> version -> the storage URI the prior state's InferenceService downloads for it
    (:func:`mlops_infra.state.model_registry.kube_offline_view`; a registry read keeps it), so the compiler
    keeps a served URI exactly as stored (``compile/kubernetes/artifacts.py`` ``storage_uri``, closing-35b-2)."""
    serving_models: Mapping[str, str] = field(default_factory=dict)
    """Endpoint -> the registered model whose version ``serving`` gives, so that :meth:`serves` tells another
    model with an equal version number from the one served (closing-41a-1). Kubernetes: the prior state's
    InferenceService annotation ``mlops-infra/model`` (:func:`mlops_infra.state.model_registry.kube_offline_view`);
    AWS: the model package group of the prior SageMaker model's ``ModelPackageName`` ARN mapped back to its model
    (:func:`mlops_infra.state.model_registry.served_models`). An endpoint left out compares by number only."""
    running_models: Mapping[str, Mapping[str, tuple[int, ...]]] = field(default_factory=dict)
    """Endpoint -> another registered model than the one the spec pins -> the versions of it the live endpoint
    config's variants run (sorted), as a registry read found them: a canary away from that model runs its
    previous version (the stable variant) beside the new model's (left43a). Written as ``runningModels`` only
    when set."""

    def runs(self, endpoint: str, model: str, version: int, *, pinned: str | None = None,
             ) -> tuple[tuple[str, int], ...]:
        """Every (registered model, version) ``endpoint`` may run while compiled to serve ``model`` ``version``
        (a held one included), sorted: that one, the one it served before (``serving``, a version of
        ``serving_models``' model, else of ``model``), the versions of ``pinned`` (the spec's model; default
        ``model``) in ``running`` and those of other models in :attr:`running_models`. A version number names a
        version within its model only (SageMaker numbers each model package group's packages from 1: botocore
        ``ModelPackageSummary.ModelPackageVersion``; MLflow each registered model's versions), so a version's
        record (its image, its artifact) is looked up in its own model's registry, never in ``model``'s."""
        pairs = {(model, version)}
        if endpoint in self.serving:
            pairs.add((self.serving_models.get(endpoint, model), self.serving[endpoint]))
        pairs.update((pinned or model, v) for v in self.running.get(endpoint, ()))
        pairs.update((other, v) for other, versions in (self.running_models.get(endpoint) or {}).items()
                     for v in versions)
        return tuple(sorted(pairs))

    def serves(self, endpoint: str, model: str, version: int) -> bool:
        """Whether the prior state shows ``endpoint`` serving ``version`` of ``model``.

        A version number names a version only within its registered model: MLflow numbers each registered
        model's versions from 1 ("Each registered model can have one or many versions. When a new model is
        added to the Model Registry, it is added as version 1. Each new model registered to the same model
        name increments the version number": MLflow "MLflow Model Registry", "Concepts"), so
        ``fraud-model-gbt`` v14 is not ``fraud-model`` v14 (closing-41a-1: an endpoint switched to another
        model with an equal number was compiled as the version it already served, without its rollout's
        first step). A view that does not name the served model (:attr:`serving_models` empty for the
        endpoint: a view built from ``serving`` alone) compares the number only."""
        if self.serving.get(endpoint) != version:
            return False
        served = self.serving_models.get(endpoint)
        return served is None or served == model

    def decide(self, endpoint: str, model: str, version: int, *, gated: bool, sagemaker: bool = False,
               creates: str = AWS_CREATES) -> Decision:
        """Whether ``endpoint`` can serve ``model`` ``version`` now (see the module contract; ``sagemaker``:
        the environment deploys SageMaker packages, :func:`deploys_approved_only`); ``creates`` names what a
        waiting endpoint's next apply creates (the target's serving resources)."""
        decision = self._decide(endpoint, model, version, gated, sagemaker, creates)
        return replace(decision, running_unread=True) if endpoint in self.running_unread else decision

    def _decide(self, endpoint: str, model: str, version: int, gated: bool, sagemaker: bool,
                creates: str) -> Decision:
        registry = self.models.get(model)
        record = registry.versions.get(version) if registry is not None else None
        if registry is None or (record is None and not registry.complete):
            return Decision("ready", model, version, version, "unverified",
                            "not checked in the registry (offline plan): `plan --refresh` reads it, and apply "
                            "checks it before creating the model")
        missing = unavailable(registry, record, version, gated, sagemaker=sagemaker)
        if missing is None:
            return Decision("ready", model, version, version, registry.basis,
                            f"{_state_words(record)} in {registry.where}")
        served = self.serving.get(endpoint)
        if served is not None and self.serves(endpoint, model, version):  # never delete what serves (closing-c-1)
            return Decision("holding", model, version, served, registry.basis,
                            f"{missing}, yet {endpoint} already serves it: it keeps serving v{served} (an apply "
                            "never deletes a serving endpoint for its own version's registry state); approve it "
                            "in the registry, or pin another version to move off it")
        if served is not None:
            other = self.serving_models.get(endpoint)
            if other is not None and other != model:  # a switch: v<served> is the other model's (closing-41a-1)
                return Decision("holding", model, version, served, registry.basis,
                                f"{missing}; {endpoint} keeps serving {other} v{served} until then",
                                serve_model=other)
            return Decision("holding", model, version, served, registry.basis,
                            f"{missing}; {endpoint} keeps serving v{served} until then")
        return Decision("waiting", model, version, None, registry.basis,
                        f"{missing}; then apply again to create {creates}")

    def find_digest(self, model: str, digest: str) -> VersionRecord | None:
        """The version of ``model`` holding the artifact ``digest`` (highest version if several)."""
        registry = self.models.get(model)
        found = [r for r in (registry.versions.values() if registry else ()) if r.digest == digest]
        return max(found, key=lambda r: r.version) if found else None

    def to_json(self) -> dict[str, Any]:
        out = {"models": {m: self.models[m].to_json() for m in sorted(self.models)},
               "serving": dict(sorted(self.serving.items())), "warnings": list(self.warnings)}
        if self.running:
            out["running"] = {name: list(v) for name, v in sorted(self.running.items())}
        if self.running_unread:
            out["runningUnread"] = list(self.running_unread)
        if self.serving_models:
            out["servingModels"] = dict(sorted(self.serving_models.items()))
        if self.running_models:
            out["runningModels"] = {name: {m: list(v) for m, v in sorted(by_model.items())}
                                    for name, by_model in sorted(self.running_models.items())}
        if self.served_uris:
            out["servedUris"] = {m: {str(v): self.served_uris[m][v] for v in sorted(self.served_uris[m])}
                                 for m in sorted(self.served_uris)}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegistryView:
        """A view from :meth:`to_json` (a saved registry read)."""
        models = {name: ModelRegistry.from_json(m) for name, m in (data.get("models") or {}).items()}
        serving = {name: int(v) for name, v in (data.get("serving") or {}).items()}
        running = {name: tuple(int(x) for x in v) for name, v in (data.get("running") or {}).items()}
        served = {m: {int(v): str(uri) for v, uri in by_version.items()}
                  for m, by_version in (data.get("servedUris") or {}).items()}
        return cls(models, serving, tuple(data.get("warnings") or ()), running,
                   tuple(str(n) for n in data.get("runningUnread") or ()), served,
                   {name: str(m) for name, m in (data.get("servingModels") or {}).items()},
                   {name: {str(m): tuple(int(x) for x in v) for m, v in by_model.items()}
                    for name, by_model in (data.get("runningModels") or {}).items()})


def serves_approved_only(system: Any, env: str, model: str) -> bool:
    """Whether environment ``env`` of ``system`` serves only approved versions of ``model`` (the
    ``gated`` of :meth:`RegistryView.decide`): the model is approved by a person (``approval:
    manual``), or the environment has the ``model_approved`` gate."""
    item = system.item("models", model)
    return (item is not None and item.approval == "manual") or "model_approved" in system.environments[env].gates


def deploys_approved_only(system: Any, env: str) -> bool:
    """Whether environment ``env`` of ``system`` deploys only Approved versions whatever its spec says (the
    ``sagemaker`` of :meth:`RegistryView.decide`): an AWS target, where SageMaker deploys a versioned model
    package only when its ``ModelApprovalStatus`` is ``Approved`` (botocore ``sagemaker``
    ``CreateModelPackageInput.ModelApprovalStatus``: "For versioned models, the value of this parameter must
    be set to Approved to deploy the model"; audit registry-2). A Kubernetes target's MLflow has no approval
    to enforce: there :func:`serves_approved_only` alone decides."""
    return system.environments[env].target.kind == "aws"


ASSUME_AVAILABLE = RegistryView()
"""No registry knowledge: every pinned version is assumed (``unverified``). What ``compile_system``
uses when it is given no view (the ``graph`` command, the Pulumi program under mocks, unit tests)."""


def _state_words(record: VersionRecord | None) -> str:
    if record is None or record.approval is None:
        return "registered"
    return {APPROVED: "registered and approved"}.get(record.approval, f"registered ({record.approval})")


def unavailable(registry: ModelRegistry, record: VersionRecord | None, version: int, gated: bool, *,
                sagemaker: bool = False) -> str | None:
    """Why ``version`` cannot be served (a clause without the model's name), or None when it can: the rule
    of the module contract, which the compiler (through :meth:`RegistryView.decide`) and a promotion's
    source check (``promote/versions.py``) both apply. ``gated``: the spec serves approved versions only
    (:func:`serves_approved_only`); ``sagemaker``: the target deploys approved packages only
    (:func:`deploys_approved_only`)."""
    if record is None:
        if registry.basis == "created-now":
            return (f"not registered: {registry.where} is created by this apply, so it holds no versions yet; "
                    f"register v{version} there (a training run or `mlops-infra promote`)")
        return f"not registered in {registry.where}; register v{version} there (a training run or `mlops-infra promote`)"
    if record.approval == REJECTED:
        return f"Rejected in {registry.where}; pin another version"
    mlflow = registry.where.startswith(MLFLOW_WHERE)
    if record.status not in (None, COMPLETED):
        return _status_clause(registry.where, record.status, mlflow)
    if (gated or sagemaker) and record.approval not in (None, APPROVED):
        how = (f"set the version's tag {MLFLOW_APPROVAL_STATUS_TAG}=approved" if mlflow
               else "UpdateModelPackage ModelApprovalStatus=Approved")
        rule = ("this environment serves approved versions only" if gated else
                "SageMaker deploys a versioned model package only when it is Approved, whatever the model's "
                "approval mode")
        return f"{record.approval} in {registry.where}, and {rule}; approve it ({how})"
    return None


def _status_clause(where: str, status: str, mlflow: bool) -> str:
    """Why a version whose registration is not complete cannot serve: a wait for a transient status, a new
    registration for a failed one, another version for one being deleted (see the module contract)."""
    field = "its registration status" if mlflow else "ModelPackageStatus"
    word = MLFLOW_WORDS.get(status, status) if mlflow else status
    if status == FAILED:
        return (f"registration failed in {where} ({field} {word}): register the artifact again (a new version) "
                "and pin that")
    if status == DELETING and not mlflow:
        return f"being deleted from {where} ({field} {word}); pin another version"
    done = MLFLOW_WORDS[COMPLETED] if mlflow else COMPLETED
    return f"still {word} in {where} ({field}); plan again once it is {done}"
