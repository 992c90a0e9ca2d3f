"""Run a golden scenario folder through the real pipeline, and build its prior and live inputs.

A scenario folder ``tests/scenarios/<what-it-shows-as-a-sentence>/`` holds:

- ``mlsystem.yaml``: the desired system;
- ``env``: the environment to plan (one line);
- ``applied.yaml`` (optional): the system as it was last applied. When present, ``prior.json`` is
  the Pulumi v3 checkpoint that applying it would leave (:func:`tests.support.applied_state.applied_state`),
  then changed by the scenario's entry in :data:`PRIOR_EDITS` if it has one. Without it the
  stack was never applied (empty prior state);
- ``live.json`` (optional): a :class:`~mlops_infra.state.model.LiveState` in JSON -- what the cloud
  says now -- built from the prior by the scenario's entry in :data:`LIVE_EDITS` (an
  out-of-band change). With it the plan is refreshed and drift is computed with ``find_drift``;
- ``registry.json`` (optional): what ``plan --refresh`` read from the environment's model registry
  (:class:`~mlops_infra.model_versions.RegistryView` JSON), made by reading a moto server set up by
  the scenario's entry in :data:`REGISTRY_SETUPS` with the real reader
  (:func:`~mlops_infra.state.aws_live.model_registry.read_registry`). With it the plan is refreshed
  (the live state equals the prior unless ``live.json`` says otherwise). Without it the registry
  view is the offline one, as ``mlops-infra plan`` builds it without ``--refresh``;
- ``plan.txt``, ``plan.md``, ``plan.json``: the expected renders.

``prior.json`` and ``live.json`` are committed so a reviewer sees exactly what the planner read;
they and the ``plan.*`` files are rewritten only by ``--update-golden``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops_infra.cli.commands.plan import describe_prior, make, with_guardrails
from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph
from mlops_infra.model_versions import RegistryView
from mlops_infra.plan.model import Plan
from mlops_infra.render import render_json, render_markdown, render_text
from mlops_infra.spec import load_system
from mlops_infra.state.model import LiveState, PriorState, StateResource
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, resources

HERE = Path(__file__).resolve().parent
OUTPUTS = ("plan.txt", "plan.md", "plan.json")


def scenario_folders() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if p.is_dir() and (p / "mlsystem.yaml").is_file())


def env_of(folder: Path) -> str:
    return (folder / "env").read_text(encoding="utf-8").strip()


def load_file(path: Path, env: str):
    loaded = load_system(path, env)
    assert loaded.ok, [f"{d.location}: {d.summary}: {d.detail}" for d in loaded.diagnostics]
    assert loaded.system is not None
    return loaded.system


def compile_file(path: Path, env: str, registry: RegistryView | None = None) -> DesiredGraph:
    return compile_system(load_file(path, env), env, registry=registry)


# -- inputs ------------------------------------------------------------------------------------

Checkpoint = dict[str, Any]


def _is(type_: str, name_part: str = "") -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["type"] == type_ and name_part in r["urn"].rsplit("::", 1)[-1]


def _leaked_secret_export(checkpoint: Checkpoint) -> Checkpoint:
    """As if exported with ``pulumi stack export --show-secrets``: a secret stored in plaintext.

    The forwarder Lambda of the Slack channel carries the webhook URL in a secret environment
    variable (set by hand once, outside the spec); the planner must never print it.
    """
    out = copy.deepcopy(checkpoint)
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
              "plaintext": json.dumps(SECRET_WEBHOOK_URL)}
    for record in resources(out):
        if record["type"] == "aws:lambda/function:Function" and record["urn"].endswith("-forwarder"):
            for side in ("inputs", "outputs"):
                variables = record[side].setdefault("environment", {}).setdefault("variables", {})
                variables["WEBHOOK_URL"] = secret
    return out


SECRET_WEBHOOK_URL = "https://hooks.slack.com/services/T0FAKE000/B0FAKE000/fAkEsEcReTvAlUe0123456789"
"""A secret value planted in the prior state of the secret scenario; it must appear in no output."""

def legacy_namespace(checkpoint: Checkpoint) -> Checkpoint:
    """As applied by an mlops-infra that registered the namespace as ``kubernetes:core/v1:Namespace``
    (before audit firstapply-1): the NamespacePatch's record has the old type and URN, every reference
    to it (parent, dependencies) names that URN, and it has no ``pulumi.com/patchForce`` annotation."""
    (record,) = [r for r in resources(checkpoint) if r["type"] == "kubernetes:core/v1:NamespacePatch"]
    new_urn = record["urn"]
    old_urn = new_urn.replace("$kubernetes:core/v1:NamespacePatch::", "$kubernetes:core/v1:Namespace::")
    out = json.loads(json.dumps(checkpoint).replace(json.dumps(new_urn), json.dumps(old_urn)))
    for record in resources(out):
        if record["urn"] == old_urn:
            record["type"] = "kubernetes:core/v1:Namespace"
            for side in ("inputs", "outputs"):
                record[side]["metadata"].pop("annotations")
    return out


PRIOR_EDITS: dict[str, Callable[[Checkpoint], Checkpoint]] = {
    "secret-references-are-redacted": _leaked_secret_export,
    "namespace-of-an-existing-stack-is-adopted-not-deleted": legacy_namespace,
}
"""Scenario name -> change to the applied checkpoint (what happened after the last apply)."""


def live_from_prior(checkpoint: Checkpoint) -> dict[str, Any]:
    """A LiveState JSON where the cloud matches the prior exactly (every custom, non-provider resource)."""
    live = {}
    for record in resources(checkpoint):
        if not record.get("custom") or record["type"].startswith("pulumi:providers:"):
            continue
        inputs = {k: v for k, v in record.get("inputs", {}).items() if k != "__defaults"}
        live[record["urn"]] = {"type": record["type"], "id": record.get("id"), "parent": record.get("parent"),
                               "inputs": inputs, "outputs": record.get("outputs", {})}
    return {"resources": live, "missing": [], "errors": {}}


def _out_of_band_changes(checkpoint: Checkpoint) -> dict[str, Any]:
    """Someone suspended versioning of the training-data bucket and raised the error-rate alarm's
    threshold in the console, and the data bucket's lifecycle rules were deleted."""
    live = live_from_prior(checkpoint)
    data = "mlops:data:ObjectStore$"
    edits = {
        f"{data}aws:s3/bucketVersioning:BucketVersioning":
            lambda res: res["inputs"]["versioningConfiguration"].update(status="Suspended"),
        "aws:cloudwatch/metricAlarm:MetricAlarm::scorer-errors":
            lambda res: res["inputs"].update(threshold=0.05),
    }
    for marker, edit in edits.items():
        urn = next(u for u in sorted(live["resources"]) if marker in u)
        edit(live["resources"][urn])
    gone = next(u for u in sorted(live["resources"]) if f"{data}aws:s3/bucketLifecycleConfiguration" in u)
    del live["resources"][gone]
    live["missing"].append(gone)
    return live


LIVE_EDITS: dict[str, Callable[[Checkpoint], dict[str, Any]]] = {
    "drift-found-after-out-of-band-change": _out_of_band_changes,
}
"""Scenario name -> the live state (JSON) the refreshed plan reads."""


def _fraud_model_group(system: Any, env: str) -> str:
    from mlops_infra.state.model_registry import group_of

    return group_of(system, env, "fraud-model")


def _register(sagemaker: Any, group: str, approvals: list[str],
              image: str = "111111111111.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2") -> None:
    """Register one version per approval status in ``group`` (creating the group), each with ``image``."""
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    for index, approval in enumerate(approvals, start=1):
        sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus=approval,
            InferenceSpecification={"Containers": [{
                "Image": image,
                "ModelDataUrl": f"s3://fraud-artifacts/training/retrain/run-{index}/output/model.tar.gz"}],
                "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]})


REGISTRY_SETUPS: dict[str, Callable[[Any, Any, str], None]] = {
    # nothing registered: the stack's group does not exist yet
    "fresh-environment-endpoint-waits-for-unregistered-model": lambda sagemaker, system, env: None,
    # v1-v12 approved, v13 registered but awaiting a person's approval
    "version-bump-keeps-serving-until-approved": lambda sagemaker, system, env: _register(
        sagemaker, _fraud_model_group(system, env), ["Approved"] * 12 + ["PendingManualApproval"]),
    # v1-v12 approved, registered with the reference job's image (the job is removed from the spec)
    "training-job-removed-keeps-the-serving-image-pull": lambda sagemaker, system, env: _register(
        sagemaker, _fraud_model_group(system, env), ["Approved"] * 12,
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"),
}
"""Scenario name -> how the environment's model registry looks (set up on a moto server)."""


def _read_registry(folder: Path, prior: PriorState, file: str = "mlsystem.yaml") -> dict[str, Any]:
    """The registry view ``plan --refresh`` reads (of ``file``'s system), from a moto server set up for
    the scenario."""
    from mlops_infra.state.aws_live.model_registry import read_registry
    from tests.support.moto_server import client, reset, running_moto_server, session

    env = env_of(folder)
    system = load_file(folder / file, env)
    region = system.environments[env].target.region
    with running_moto_server() as url:
        reset(url)
        REGISTRY_SETUPS[folder.name](client("sagemaker", url, region), system, env)
        view = read_registry(system, env, prior, session_factory=lambda: session(region), endpoint_url=url)
        reset(url)
    return view.to_json()


def _applied_graph(folder: Path) -> DesiredGraph:
    """``applied.yaml`` compiled as the apply that made the prior did: with the registry read, for a
    scenario with a registry set-up (apply reads it, so the serving role pulls the image the pinned
    version was registered with: ``compile/aws/serving._served_images``), else offline."""
    env = env_of(folder)
    if folder.name not in REGISTRY_SETUPS:
        return compile_file(folder / "applied.yaml", env)
    view = RegistryView.from_json(_read_registry(folder, PriorState.empty(), "applied.yaml"))
    return compile_file(folder / "applied.yaml", env, registry=view)


def build_inputs(folder: Path) -> None:
    """(Re)write ``prior.json``, ``live.json`` and ``registry.json`` of ``folder`` from ``applied.yaml``,
    the edits and the registry set-up."""
    if folder.name in REGISTRY_SETUPS:
        prior_file = folder / "applied.yaml"
        prior = (parse_state(dumps(applied_state(_applied_graph(folder))).encode(), "prior.json")
                 if prior_file.is_file() else PriorState.empty())
        view = _read_registry(folder, prior)
        (folder / "registry.json").write_text(json.dumps(view, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    applied = folder / "applied.yaml"
    if not applied.is_file():
        assert folder.name not in PRIOR_EDITS and folder.name not in LIVE_EDITS, "edits need an applied.yaml"
        return
    checkpoint = applied_state(_applied_graph(folder))
    checkpoint = PRIOR_EDITS.get(folder.name, lambda c: c)(checkpoint)
    (folder / "prior.json").write_text(dumps(checkpoint), encoding="utf-8")
    if folder.name in LIVE_EDITS:
        live = LIVE_EDITS[folder.name](checkpoint)
        (folder / "live.json").write_text(json.dumps(live, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def parse_live(data: dict[str, Any]) -> LiveState:
    """A LiveState from its JSON form (``{"resources": {urn: {...}}, "missing": [...], "errors": {...}}``)."""
    live = {urn: StateResource(urn=urn, type=r["type"], custom=True, id=r.get("id"), parent=r.get("parent"),
                               inputs=r.get("inputs") or {}, outputs=r.get("outputs") or {})
            for urn, r in data.get("resources", {}).items()}
    return LiveState(resources=live, missing=frozenset(data.get("missing", ())), errors=dict(data.get("errors", {})))


# -- the pipeline ------------------------------------------------------------------------------


def plan_scenario(folder: Path) -> tuple[Plan, list[str]]:
    """load -> compile -> prior -> (live, drift) -> make_plan -> guardrails, as ``mlops-infra plan`` does."""
    from mlops_infra.cli.commands.plan import registry_view
    from mlops_infra.plan.drift import find_drift

    env = env_of(folder)
    system = load_file(folder / "mlsystem.yaml", env)
    prior_file = folder / "prior.json"
    prior = (parse_state(prior_file.read_bytes(), "prior.json") if prior_file.is_file()
             else PriorState.empty(system.metadata.name, env))
    registry_file = folder / "registry.json"
    if registry_file.is_file():
        registry = RegistryView.from_json(json.loads(registry_file.read_text(encoding="utf-8")))
    else:
        registry = registry_view(system, env, prior, refresh=False)
    graph = compile_system(system, env, registry=registry)
    live = drift = None
    if (folder / "live.json").is_file():
        live = parse_live(json.loads((folder / "live.json").read_text(encoding="utf-8")))
    elif registry_file.is_file():  # a refreshed plan whose cloud matches the prior state
        live = LiveState(resources={u: r for u, r in prior.resources.items() if r.custom
                                    and not r.type.startswith("pulumi:providers:")})
    if live is not None:
        drift = find_drift(prior, live)
    plan = with_guardrails(make(graph, prior, live, drift, list(registry.warnings)), graph, system, env)
    return plan, [describe_prior(prior)]


def render_scenario(folder: Path) -> dict[str, str]:
    """The three renders of a scenario, by golden file name."""
    plan, notes = plan_scenario(folder)
    refresh = " --refresh" if (folder / "registry.json").is_file() else ""
    command = f"mlops-infra plan mlsystem.yaml --env {env_of(folder)}{refresh} --format text"
    return {"plan.txt": render_text(plan, notes=notes),
            "plan.md": render_markdown(plan, notes=notes, command=command),
            "plan.json": render_json(plan)}
