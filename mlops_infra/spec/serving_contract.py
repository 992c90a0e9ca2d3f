"""The serving contract a promoted model crosses: how SRC serves it, how DST will, and whether that can work.

Pure and spec-level (the effective systems alone tell it): ``promote`` shows the findings
(:mod:`mlops_infra.promote.contracts`) and ``validate`` warns of a promotion refused unless its
artifact holds both layouts (:func:`check_serving_contracts`).

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

- DST's own server (KServe's runtime, SageMaker's framework container) with a known layout
  (:data:`LAYOUTS`: pytorch and xgboost, each side's rule read from its server's source): decided
  from the files of the artifact SRC serves when the caller read them (``listings``,
  :func:`holds_layout`). ``refuses`` only when they were read and lack DST's layout (preview exit
  1, ``--write`` and ``--execute-artifacts`` refused, nothing written or copied); the first fix
  named is to add DST's layout to the artifact (neither server refuses files it does not use, so
  one artifact holding both layouts is served by both: audit finding closing-37a-1; this was once
  refused from the spec alone). Not read: a warning naming DST's rule (``layouts_differ`` when
  SRC's own server loads another layout). Holding it: a warning that says so;
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
its ``promote_from`` per model whose SRC and DST own servers load different layouts
(``layouts_differ``): the promotion is refused unless the artifact holds DST's layout too (the
other warnings ``promote`` gives are not repeated).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.name_lists import join_names

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
    ("kubernetes", "xgboost"): (
        "a booster file named *.bst, *.json or *.ubj at the top of /mnt/models, what KServe's xgboost runtime "
        "(xgbserver) loads; without one it raises ModelMissingError (kserve v0.15.0 python/xgbserver/xgbserver/"
        "model.py BOOSTER_FILE_EXTENSIONS, config/runtimes/kserve-xgbserver.yaml)"),
    ("aws", "xgboost"): (
        "one file at the top of /opt/ml/model, whatever its name (SageMaker's built-in XGBoost writes it as "
        "xgboost-model, no extension), what SageMaker's XGBoost container loads: the first file of the folder, as "
        "a pickle or by Booster.load_model (aws/sagemaker-xgboost-container algorithm_mode/serve_utils.py "
        "get_loaded_booster, constants/xgb_constants.py MODEL_NAME)"),
}
"""(cloud, framework) -> the artifact layout the platform's own server for that framework loads,
for the pairs whose rule is read from the server's source (module docstring); :func:`holds_layout`
checks an artifact's files against it. Neither server refuses files it does not use, so one
artifact can hold two layouts and be served by both (audit finding closing-37a-1): a promotion is
refused only when the artifact's files were read and lack DST's layout."""

_BOOSTER_EXTENSIONS = (".bst", ".json", ".ubj")


def holds_layout(cloud: str, framework: str, paths: Sequence[str]) -> bool | None:
    """Whether an artifact whose files are ``paths`` (relative to its root: the members of its
    ``model.tar.gz``, or its objects' paths under its prefix) holds the layout :data:`LAYOUTS` gives
    ``(cloud, framework)``: True, False, or None when the rule cannot tell (no rule; several files
    where SageMaker's XGBoost container takes the first one ``os.listdir`` gives).

    - KServe pytorch: ``model-store/<name>.mar`` and ``config/config.properties`` (the two paths
      TorchServe is started with: kserve v0.15.0 ``config/runtimes/kserve-torchserve.yaml``).
    - SageMaker pytorch: ``model.pt`` at the top, or exactly one top-level ``.pt``/``.pth``, or
      ``code/inference.py`` (sagemaker-pytorch-inference-toolkit ``default_model_fn`` lists the top
      level only; user code's ``model_fn`` loads what it likes).
    - KServe xgboost: a top-level ``.bst``/``.json``/``.ubj`` file (xgbserver ``model.py``).
    - SageMaker xgboost: one top-level file that is not a dotfile (``serve_utils.py``
      ``_get_full_model_paths`` skips dotfiles, ``get_loaded_booster`` loads the first)."""
    names = {p[2:] if p.startswith("./") else p for p in paths}
    top = {n for n in names if "/" not in n}
    if (cloud, framework) == ("kubernetes", "pytorch"):
        return "config/config.properties" in names and any(
            n.startswith("model-store/") and n.endswith(".mar") and n.count("/") == 1 for n in names)
    if (cloud, framework) == ("aws", "pytorch"):
        weights = [n for n in top if n.endswith((".pt", ".pth"))]
        return "model.pt" in top or len(weights) == 1 or "code/inference.py" in names
    if (cloud, framework) == ("kubernetes", "xgboost"):
        return any(n.endswith(_BOOSTER_EXTENSIONS) for n in top)
    if (cloud, framework) == ("aws", "xgboost"):
        files = [n for n in top if not n.startswith(".")]
        return True if len(files) == 1 else False if not files else None
    return None


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
    layouts_differ: bool = False
    """The artifact's files were not read, and DST's own server loads another layout than SRC's
    (what ``validate`` warns of); not in the JSON."""

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
                      endpoints: Mapping[str, tuple[str, ...]],
                      listings: Mapping[str, Sequence[str] | None] | None = None) -> tuple[ServingFinding, ...]:
    """The findings of promoting the models of ``endpoints`` (model -> the endpoints serving it)
    from ``src`` into ``dst`` (see the module contract), one per model, sorted by model.
    ``listings``: model -> the files of the artifact SRC serves (:func:`holds_layout`), when read."""
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
        findings.append(_finding(model, tuple(sorted(endpoints[model])), src, before, dst, after,
                                 (listings or {}).get(model)))
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
            if finding.refuses or finding.layouts_differ:
                yield warning("serving-contract-mismatch",
                              f"Promoting {finding.model} from {src} into {dst} will be refused unless its artifact "
                              f"holds {dst}'s layout too: {dst}'s server loads another layout than {src}'s",
                              finding.detail, ("environments", dst, "promote_from"),
                              f"models.{finding.model}")


def _finding(model: str, endpoints: tuple[str, ...], src: str, before: Serving, dst: str,
             after: Serving, paths: Sequence[str] | None = None) -> ServingFinding:
    """Refused only when the artifact's ``paths`` were read and lack the layout DST's own server
    loads (:func:`holds_layout` False); otherwise a warning, naming DST's rule when it is known."""
    where = f"{model} (endpoint{'s' if len(endpoints) > 1 else ''} {join_names(endpoints)})"
    contract = CONTRACTS[after.cloud]
    fix = (f"Serve it in {dst} with an image that speaks {dst}'s contract and loads this artifact: override "
           f"models.{model}.serving_image in {dst}. If the image (or the artifact, laid out for both servers) does "
           f"serve it, declare so: models.{model}.serving_contracts listing {contract} (for example [kserve, "
           "sagemaker]).")
    src_layout = LAYOUTS.get((before.cloud, before.framework)) if before.server in ("runtime", "framework") else None
    dst_layout = LAYOUTS.get((after.cloud, after.framework)) if after.server in ("runtime", "framework") else None
    if dst_layout:
        holds = holds_layout(after.cloud, after.framework, paths) if paths is not None else None
        add = (f"Add {dst}'s layout to the artifact (neither server refuses files it does not use, so an artifact "
               f"holding both layouts is served by both). Or: {fix}")
        if holds is False:
            return ServingFinding(model, endpoints, True,
                                  f"{where}: {dst} cannot serve the artifact {src} serves: {src} serves it with "
                                  f"{before.what}, {dst} would with {after.what}",
                                  f"The artifact {src} serves does not hold {dst_layout}. The promoted endpoint would "
                                  f"fail to load the model at its first health check. {add}")
        if holds:
            return ServingFinding(model, endpoints, False,
                                  f"{where}: served in {src} with {before.what}, in {dst} with {after.what}: the "
                                  f"artifact holds {dst}'s layout", f"{dst}'s container expects {dst_layout}: the "
                                  "artifact holds it.")
        differ = bool(src_layout) and src_layout != dst_layout
        read = ("mlops-infra did not read the artifact's files" if paths is None else
                "its files do not tell whether it fits")
        theirs = f" {src}'s server loads {src_layout}: an artifact laid out only for it is not served." if differ else ""
        return ServingFinding(model, endpoints, False,
                              f"{where}: served in {src} with {before.what}, in {dst} with {after.what}: check "
                              f"that the artifact holds {dst}'s layout",
                              f"{dst}'s container expects {dst_layout}; {read}.{theirs} {add}", differ)
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
