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

from mlops_infra.cli.commands.plan import describe_prior, make
from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph
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


def compile_file(path: Path, env: str) -> DesiredGraph:
    loaded = load_system(path, env)
    assert loaded.ok, [f"{d.location}: {d.summary}: {d.detail}" for d in loaded.diagnostics]
    assert loaded.system is not None
    return compile_system(loaded.system, env)


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
        if record["type"] == "aws:lambda/function:Function":
            for side in ("inputs", "outputs"):
                variables = record[side].setdefault("environment", {}).setdefault("variables", {})
                variables["WEBHOOK_URL"] = secret
    return out


SECRET_WEBHOOK_URL = "https://hooks.slack.com/services/T0FAKE000/B0FAKE000/fAkEsEcReTvAlUe0123456789"
"""A secret value planted in the prior state of the secret scenario; it must appear in no output."""

PRIOR_EDITS: dict[str, Callable[[Checkpoint], Checkpoint]] = {
    "secret-references-are-redacted": _leaked_secret_export,
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


def build_inputs(folder: Path) -> None:
    """(Re)write ``prior.json`` and ``live.json`` of ``folder`` from ``applied.yaml`` and the edits."""
    applied = folder / "applied.yaml"
    if not applied.is_file():
        assert folder.name not in PRIOR_EDITS and folder.name not in LIVE_EDITS, "edits need an applied.yaml"
        return
    checkpoint = applied_state(compile_file(applied, env_of(folder)))
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
    """load -> compile -> prior -> (live, drift) -> make_plan, as ``mlops-infra plan`` does."""
    from mlops_infra.plan.drift import find_drift

    env = env_of(folder)
    graph = compile_file(folder / "mlsystem.yaml", env)
    prior_file = folder / "prior.json"
    prior = (parse_state(prior_file.read_bytes(), "prior.json") if prior_file.is_file()
             else PriorState.empty(graph.project, graph.stack))
    live = drift = None
    if (folder / "live.json").is_file():
        live = parse_live(json.loads((folder / "live.json").read_text(encoding="utf-8")))
        drift = find_drift(prior, live)
    return make(graph, prior, live, drift, []), [describe_prior(prior)]


def render_scenario(folder: Path) -> dict[str, str]:
    """The three renders of a scenario, by golden file name."""
    plan, notes = plan_scenario(folder)
    command = f"mlops-infra plan mlsystem.yaml --env {env_of(folder)} --format text"
    return {"plan.txt": render_text(plan, notes=notes),
            "plan.md": render_markdown(plan, notes=notes, command=command),
            "plan.json": render_json(plan)}
