"""The serving contract a promoted model crosses: how SRC serves it, how DST will, and whether that can work.

Pure and spec-level (the effective systems alone tell it): ``promote`` shows the findings
(:mod:`mlops_infra.promote.contracts`) and ``validate`` warns of a promotion that will be refused
(:func:`check_serving_contracts`).

A promotion carries an *artifact* (:mod:`mlops_infra.promote.versions`), not the container that
serves it: each environment serves the artifact its own way, and across clouds the two ways are
different contracts (audit finding xpromote-3: nothing said so, and the promoted endpoint failed
its first health check).

- KServe (a Kubernetes environment, ``compile/kubernetes/serving.py``): the storage initializer
  downloads the version into ``/mnt/models`` (kserve v0.15.0 ``python/kserve/kserve/storage/storage.py``
  ``MODEL_MOUNT_DIRS``; one tar or zip object is unpacked there). A model without ``serving_image``
  is served by the ClusterServingRuntime of its model format, which reads its own layout under
  ``/mnt/models``: for ``pytorch``, TorchServe started with ``--model-store=/mnt/models/model-store
  --ts-config=/mnt/models/config/config.properties`` (kserve v0.15.0
  ``config/runtimes/kserve-torchserve.yaml``), so the artifact holds ``model-store/<name>.mar`` and
  ``config/config.properties``. A model with ``serving_image`` is a custom predictor: the image runs
  with its own entrypoint and command, the model at ``$STORAGE_URI`` (``/mnt/models``), listening
  on ``$PORT`` (8080), called on KServe's protocol paths (``/v1/models/<name>:predict``,
  ``/v2/models/<name>/infer``: kserve v0.15.0 ``python/kserve/kserve/protocol/rest/v1_endpoints.py``,
  ``v2_endpoints.py``).
- SageMaker (an AWS environment): "SageMaker AI runs the container as: ``docker run image serve``"
  (the ``serve`` argument replaces the image's ``CMD``), copies the model artifacts to
  ``/opt/ml/model`` (a ``model.tar.gz`` unpacked), checks health with ``GET /ping`` and sends
  requests to ``POST /invocations``, both on port 8080 ("Custom Inference Code with Hosting
  Services", https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html).
  The image is the one :func:`mlops_infra.spec.containers.serving_image` resolves (what DST's
  compiler and the artifact steps use). SageMaker's PyTorch inference container loads, without
  user code, ``model.pt`` at the top of ``/opt/ml/model`` or else the one ``.pt``/``.pth`` file
  there ("Exactly one .pth or .pt file is required for PyTorch models"), as TorchScript
  (``torch.jit.load``), or calls ``model_fn`` of ``code/inference.py`` under it
  (aws/sagemaker-pytorch-inference-toolkit ``src/sagemaker_pytorch_serving_container/
  default_pytorch_inference_handler.py`` ``DEFAULT_MODEL_FILENAME``, ``default_model_fn``;
  ``src/sagemaker_inference/environment.py`` ``code_dir``, ``DEFAULT_MODULE_NAME``).

Contract of :func:`contract_findings` (pure: the promotion's two effective systems in, findings out):
one finding per promoted model whose SRC and DST are on different clouds (a Kubernetes and an AWS
environment; a promotion within one cloud keeps the contract), naming the endpoints that serve it:

- ``refuses``: both sides are the platform's own servers and their artifact layouts are known and
  disjoint (:data:`LAYOUTS`: KServe's TorchServe runtime and SageMaker's PyTorch container, either
  way): the artifact SRC serves is surely not one DST's container loads. The promotion is refused
  (preview exit 1, ``--write`` and ``--execute-artifacts`` refused, nothing written or copied);
- otherwise a warning that says what DST will run and call (a custom image: SageMaker runs it with
  ``serve`` and calls ``/ping`` and ``/invocations``; KServe runs it with its own command and calls
  KServe's paths), where the model will be, what SRC served it with, and the fix: serve it in DST
  with an image that speaks DST's contract (``models.<m>.serving_image`` overridden in DST), or,
  when the image and artifact do serve it, declare so (``models.<m>.serving_contracts`` listing
  DST's contract, ``kserve`` or ``sagemaker``);
- no finding for a model whose ``serving_contracts`` in DST's effective system lists DST's contract:
  the document declares that its image (or, served by the platforms' own servers, its artifact,
  laid out for both) serves under it.

Contract of :func:`check_serving_contracts` (``validate``, every environment validated): for each
environment with ``promote_from`` on the other cloud, a warning ``serving-contract-mismatch`` at
its ``promote_from`` per model the promotion would refuse (the warnings ``promote`` gives are not
repeated: only what ``promote`` refuses is known from the spec alone).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.diagnostics import Diagnostic, warning

SAGEMAKER_CONTRACT_DOC = "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html"

LAYOUTS = {
    ("kubernetes", "pytorch"): (
        "model-store/<name>.mar and config/config.properties, what KServe's pytorch runtime (TorchServe, "
        "--model-store=/mnt/models/model-store --ts-config=/mnt/models/config/config.properties: kserve v0.15.0 "
        "config/runtimes/kserve-torchserve.yaml) loads"),
    ("aws", "pytorch"): (
        "model.pt (or the one .pt/.pth file) at the top of /opt/ml/model, loaded as TorchScript, or code/inference.py "
        "with model_fn, what SageMaker's PyTorch inference container loads (sagemaker-pytorch-inference-toolkit "
        "default_pytorch_inference_handler.py default_model_fn)"),
}
"""(cloud, framework) -> the artifact layout the platform's own server for that framework loads,
for the pairs whose rule is read from the server's source (module docstring). Two different
entries of one framework are disjoint layouts: an artifact laid out for one is not loaded by the other."""


KSERVE_FORMATS = {"custom": "mlflow"}
"""The KServe model format a framework is served as, where it is not the framework's own name:
``compile/kubernetes/serving.MODEL_FORMATS`` (which ``spec`` cannot import: a test pins that they agree)."""

CONTRACTS = {"aws": "sagemaker", "kubernetes": "kserve"}
"""A target kind -> the serving contract its endpoints are served under (``models.<m>.serving_contracts``)."""


@dataclass(frozen=True)
class Serving:
    """How one environment serves a model.

    ``server`` is ``runtime`` (a KServe ClusterServingRuntime chosen by the model format),
    ``framework`` (a SageMaker framework inference container), ``image`` (a container image the
    system names: ``serving_image``, or a training job's image reused to serve) or ``unknown`` (an
    AWS model registered out of band, which brings its own image)."""

    cloud: str
    server: str
    framework: str
    image: str | None
    what: str
    """For people: ``KServe's pytorch runtime``, ``the SageMaker pytorch inference container``, ``image X``."""


@dataclass(frozen=True)
class ServingFinding:
    """One promoted model whose serving changes between SRC and DST; ``refuses`` when DST surely
    cannot serve the artifact, else a warning."""

    model: str
    endpoints: tuple[str, ...]
    refuses: bool
    summary: str
    detail: str

    def line(self) -> str:
        return f"[{'refused' if self.refuses else 'warning'}] {self.summary}"

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "endpoints": list(self.endpoints), "refuses": self.refuses,
                "summary": self.summary, "detail": self.detail}


def serving_of(system: Any, env: str, model_name: str, instances: dict[str, str] | None = None) -> Serving:
    """How ``env`` (of its effective ``system``) serves ``model_name`` (see the module docstring).
    ``instances``: :func:`mlops_infra.spec.containers.serving_instances` of ``system`` when the caller
    asks for several models (one pass over the endpoints, not one per model)."""
    target = system.environments[env].target
    model = system.item("models", model_name)
    framework = model.framework if model is not None else "custom"
    if target.kind != "aws":
        if model is not None and model.serving_image:
            return Serving("kubernetes", "image", framework, model.serving_image, f"image {model.serving_image}")
        runtime = KSERVE_FORMATS.get(framework, framework)
        return Serving("kubernetes", "runtime", framework, None, f"KServe's {runtime} runtime")
    return _aws_serving(system, target.region, model_name, framework, instances)


def _aws_serving(system: Any, region: str, model_name: str, framework: str,
                 instances: dict[str, str] | None) -> Serving:
    """The SageMaker side: the image :func:`mlops_infra.spec.containers.serving_image` resolves."""
    from mlops_infra.spec import containers

    instances = containers.serving_instances(system) if instances is None else instances
    instance = instances.get(model_name, containers.DEFAULT_INSTANCE)
    image = containers.serving_image(system, system.positions["models"], model_name, region, instance)
    if image is None:
        return Serving("aws", "unknown", framework, None, "the image its registered package names")
    if image.origin == "framework":
        if image.path[0] == "training_jobs":  # the registering job's framework inference image
            framework = system.training_jobs[image.path[1]].framework
        return Serving("aws", "framework", framework, image.uri,
                       f"the SageMaker {framework} inference container{f' {image.uri}' if image.uri else ''}")
    reused = " (the training image, reused to serve)" if image.origin == "training image" else ""
    return Serving("aws", "image", framework, image.uri, f"image {image.uri}{reused}")


def contract_findings(src: str, src_system: Any, dst: str, dst_system: Any,
                      endpoints: Mapping[str, tuple[str, ...]]) -> tuple[ServingFinding, ...]:
    """The findings of promoting the models of ``endpoints`` (model -> the endpoints serving it)
    from ``src`` into ``dst`` (see the module contract), one per model, sorted by model."""
    from mlops_infra.spec.containers import serving_instances

    src_kind = src_system.environments[src].target.kind
    dst_kind = dst_system.environments[dst].target.kind
    if (src_kind == "aws") == (dst_kind == "aws"):
        return ()
    contract = CONTRACTS[dst_kind]
    instances = {side: serving_instances(system) if system.environments[env].target.kind == "aws" else {}
                 for side, system, env in (("src", src_system, src), ("dst", dst_system, dst))}
    findings = []
    for model in sorted(endpoints):
        declared = dst_system.item("models", model)
        if declared is not None and contract in (declared.serving_contracts or ()):
            continue
        before = serving_of(src_system, src, model, instances["src"])
        after = serving_of(dst_system, dst, model, instances["dst"])
        findings.append(_finding(model, tuple(sorted(endpoints[model])), src, before, dst, after))
    return tuple(findings)


def check_serving_contracts(effective: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """``validate``'s warnings (see the module contract); ``effective``: environment -> its effective
    system, every environment of a valid document."""
    for dst in sorted(effective):
        system = effective[dst]
        src = system.environments[dst].promote_from
        if src not in effective:
            continue
        endpoints: dict[str, list[str]] = {}
        for endpoint in effective[src].endpoints:
            endpoints.setdefault(endpoint.model.name, []).append(endpoint.name)
        served = {model: tuple(names) for model, names in endpoints.items()}
        for finding in contract_findings(src, effective[src], dst, system, served):
            if finding.refuses:
                yield warning("serving-contract-mismatch",
                              f"Promoting {finding.model} from {src} into {dst} will be refused: {dst} cannot serve "
                              f"the artifact {src} serves", finding.detail, ("environments", dst, "promote_from"),
                              f"models.{finding.model}")


def _finding(model: str, endpoints: tuple[str, ...], src: str, before: Serving, dst: str,
             after: Serving) -> ServingFinding:
    where = f"{model} (endpoint{'s' if len(endpoints) > 1 else ''} {', '.join(endpoints)})"
    contract = CONTRACTS[after.cloud]
    fix = (f"Serve it in {dst} with an image that speaks {dst}'s contract and loads this artifact: override "
           f"models.{model}.serving_image in {dst}. If the image (or the artifact, laid out for both servers) does "
           f"serve it, declare so: models.{model}.serving_contracts listing {contract} (for example [kserve, "
           "sagemaker]).")
    src_layout = LAYOUTS.get((before.cloud, before.framework)) if before.server in ("runtime", "framework") else None
    dst_layout = LAYOUTS.get((after.cloud, after.framework)) if after.server in ("runtime", "framework") else None
    if src_layout and dst_layout and src_layout != dst_layout:
        return ServingFinding(model, endpoints, True,
                              f"{where}: {dst} cannot serve the artifact {src} serves: {src} serves it with "
                              f"{before.what}, {dst} would with {after.what}",
                              f"The artifact {src} serves is laid out as {src_layout}. {dst}'s container expects {dst_layout}. "
                              f"The promoted endpoint would fail to load the model at its first health check. {fix}")
    return ServingFinding(model, endpoints, False,
                          f"{where}: served in {src} with {before.what}, in {dst} with {after.what}: check that "
                          f"it serves {dst}'s contract",
                          f"In {dst}: {_contract(after, model)} In {src}: {_contract(before, model)} mlops-infra "
                          f"cannot tell whether the image and the artifact fit {dst}'s contract; one that does not "
                          f"fails the endpoint's first health check. {fix}")


def _contract(serving: Serving, model: str) -> str:
    """What the environment runs and calls, and where the model is (module docstring)."""
    layout = LAYOUTS.get((serving.cloud, serving.framework)) if serving.server in ("runtime", "framework") else None
    loads = f"; it loads {layout}" if layout else ""
    if serving.cloud == "aws":
        return (f"SageMaker runs {serving.image or 'the image of the registered package'} as `docker run IMAGE serve` "
                f"and calls GET /ping and POST /invocations on port 8080, with the version's artifact unpacked under "
                f"/opt/ml/model ({SAGEMAKER_CONTRACT_DOC}){loads}.")
    if serving.server == "image":
        return (f"KServe runs {serving.image} as a custom predictor: its own entrypoint and command (no `serve` "
                f"argument), the version's artifact downloaded to /mnt/models ($STORAGE_URI), listening on $PORT "
                f"(8080), called on KServe's paths (/v1/models/{model}:predict, /v2/models/{model}/infer).")
    return f"It is served by {serving.what}, the version's artifact downloaded to /mnt/models{loads}."
