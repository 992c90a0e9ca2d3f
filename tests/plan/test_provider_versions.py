"""What pulumi-aws 7 and the typed SDKs store in a state is not a planned change (audit provvers-1, provvers-2).

- provvers-1: pulumi-aws 7 sets ``region`` in the inputs of every region-aware resource the program gives none, from
  its provider's ``region``, before ``Check`` (pulumi/pulumi-aws provider/region.go ``applyRegion``, a
  ``PreCheckCallback``; pulumi-terraform-bridge pkg/tfbridge/provider.go ``Check`` runs it on the news before it
  computes inputs and defaults), so the engine stores it as an input, not listed in ``__defaults``. Equal to the
  provider's region it is no change; another region replaces the resource (terraform-provider-aws
  enhanced-region-support guide: "Changing the value of `region` will force resource replacement").
- provvers-2: the typed ``pulumi_aws.Provider`` sends ``skipCredentialsValidation: "false"`` and
  ``skipRegionValidation: "true"`` whatever the program passes (pulumi_aws/provider.py), and the engine stores the
  provider's checked inputs; ``pulumi_kubernetes.Provider`` sends its ``PULUMI_K8S_*`` options from the environment.
- closing-43b-1: those options are what the SDK sends from the environment ``pulumi up`` runs in
  (``PlanOptions.program_env``, :mod:`mlops_infra.plan.provider_env`): a stored one this environment does not send the
  same is a provider update naming its variable (pulumi-kubernetes ``DiffConfig``: every changed key is a diff), with a
  warning when the apply mode or ConfigMap/Secret mutability changes (``Configure``).
- closing-43b-2: :func:`~tests.support.applied_state.applied_state` stores each explicit provider's ``version``.

The tables the planner uses (``rules.REGIONLESS_AWS``, ``ReplaceRule.sdk_filled``) are checked against the installed
SDKs here; :func:`~tests.support.applied_state.applied_state` writes states as those versions write them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson
import pytest

from mlops_infra.cli.commands import plan as plan_cmd
from mlops_infra.plan import normalize, planner
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.rules import PROVIDERS, REGION, REGIONLESS_AWS, RULES, region_aware, rule_for
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource, resources
from tests.support.pulumi_capture import capture_program

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples/fraud-detection/mlsystem.yaml"
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")


def _plan(graph, checkpoint, env=None):
    options = FAST if env is None else PlanOptions(summarize_ml=False, estimate_cost=False, program_env=env)
    return make_plan(graph, parse_state(dumps(checkpoint).encode(), "prior.json"), options=options)


def _changed(plan) -> list[tuple[str, Action]]:
    return [(c.urn, c.action) for c in plan.changes if c.action is not Action.NOOP]


def _sdk_types() -> tuple[set[str], set[str]]:
    """The installed pulumi_aws SDK's resource types: (region-aware, not), from each class's source: a class whose
    ``_internal_init`` sets ``__props__.__dict__["region"]`` from its ``region`` argument and does not deprecate it
    (pulumi-aws fills only a usable, non-deprecated ``region``: provider/resources.go ``HasUsableRegion``)."""
    import pulumi_aws

    aware: set[str] = set()
    other: set[str] = set()
    for path in sorted(Path(pulumi_aws.__file__).parent.rglob("*.py")):
        text = path.read_text()
        tokens = _TOKEN.findall(text)
        usable = '__props__.__dict__["region"] = region' in text and "region is deprecated" not in text
        (aware if usable else other).update(tokens)
    return aware, other


def test_the_region_aware_table_is_the_installed_sdks() -> None:
    """``REGIONLESS_AWS`` is exactly the SDK's resource types without a usable ``region`` input; every registered
    AWS rule's type the SDK knows is region-aware and forces a replace on ``region``."""
    aware, other = _sdk_types()
    assert len(aware) > 1000 and "aws:sagemaker/model:Model" in aware and "aws:iam/role:Role" in other
    assert other == REGIONLESS_AWS, sorted(REGIONLESS_AWS ^ other)
    assert not any(region_aware(t) for t in other) and all(region_aware(t) for t in aware)
    known = [t for t in RULES if t in aware]
    assert len(known) >= 30
    for type_token in known:
        replace = rule_for(type_token).replace
        assert REGION in replace or replace == ("*",), type_token
    assert REGION in rule_for("aws:newservice/thing:Thing").replace  # an unregistered AWS type too


def test_sdk_filled_provider_inputs_are_what_the_installed_sdks_send(monkeypatch) -> None:
    """``sdk_filled`` of the aws rule is what ``pulumi_aws.Provider`` sends unasked (JSON-encoded); that of the
    kubernetes rule is every input ``pulumi_kubernetes.Provider`` reads from a ``PULUMI_K8S_*`` variable."""
    import pulumi_aws
    import pulumi_kubernetes

    from mlops_infra.plan import provider_env

    capture = capture_program(lambda: pulumi_aws.Provider("sdk", region="eu-west-1"), "p", "s")
    [sent] = [r.inputs for r in capture.resources.values()]
    assert {k: v for k, v in sent.items() if k != REGION} == dict(PROVIDERS["aws"].sdk_filled)

    source = Path(pulumi_kubernetes.__file__).with_name("provider.py").read_text()
    variables = set(re.findall(r"get_env_bool\('(PULUMI_K8S_\w+)'\)", source))
    assert len(variables) >= 9 and variables == provider_env.VARIABLES
    assert PROVIDERS["kubernetes"].sdk_filled == ()  # sent from the environment: planned with program_env
    monkeypatch.delenv("KUBECONFIG", raising=False)
    for spelling in ("true", "0", "T", "yes"):  # get_env_bool's spellings, and one it does not read
        env = {name: spelling for name in variables}
        for name in variables:
            monkeypatch.setenv(name, spelling)
        capture = capture_program(lambda: pulumi_kubernetes.Provider("sdk"), "p", "s")
        [sent] = [r.inputs for r in capture.resources.values()]
        assert sent == provider_env.sent(env), spelling
        assert len(sent) == (0 if spelling == "yes" else 9), spelling


def test_a_state_applied_by_pulumi_aws_7_plans_no_changes() -> None:
    """The fraud-detection prod state as pulumi-aws 7.51 writes it (``region`` in the inputs and outputs of each
    region-aware resource, not in ``__defaults``; the provider's SDK-sent inputs) plans no change, and each such
    resource is proved unchanged from its stored text, without the walk (plan --state's speed)."""
    graph = compile_file(FRAUD, "prod")
    checkpoint = applied_state(graph)
    records = resources(checkpoint)
    with_region = [r for r in records if r.get("custom") and REGION in (r.get("inputs") or {})
                   and r["type"].startswith("aws:")]
    assert len(with_region) >= 70 and all(REGION not in r["inputs"]["__defaults"] for r in with_region)
    assert not any(REGION in r["inputs"] for r in records if r["type"].startswith("aws:iam/"))
    [provider] = [r for r in records if r["type"] == "pulumi:providers:aws"]
    assert provider["inputs"]["skipRegionValidation"] == "true"
    assert provider["inputs"]["skipCredentialsValidation"] == "false"

    real, walked = planner.normalize_inputs, []

    def counted(prior, desired, **kwargs):
        if prior is not None:
            walked.append(kwargs["name"])
        return real(prior, desired, **kwargs)

    planner.normalize_inputs = counted
    try:
        plan = _plan(graph, checkpoint)
        with_region_walked, walked[:] = sorted(walked), []
        for record in with_region:
            del record["inputs"][REGION]
        _plan(graph, checkpoint)
    finally:
        planner.normalize_inputs = real
    assert _changed(plan) == [] and plan.counts.total == 0
    # the region walks no resource: those walked (a Lambda's archive, ...) are walked without it too
    assert with_region_walked == sorted(walked) and len(walked) < 10, walked


def test_the_aws_provider_stored_as_its_sdk_sends_it_is_no_change() -> None:
    """provvers-2 alone: the explicit provider's stored ``skipCredentialsValidation: "false"`` and
    ``skipRegionValidation: "true"`` (sent by ``pulumi_aws.Provider`` whatever the program passes) are no change; another
    stored value of one is (the graph never sets them: ``pulumi up`` would send the SDK's)."""
    graph = compile_file(FRAUD, "prod")
    checkpoint = applied_state(graph)
    for record in resources(checkpoint):  # the resources as an older provider stored them: only the provider differs
        if record["type"].startswith("aws:"):
            record["inputs"].pop(REGION, None)
    assert _changed(_plan(graph, checkpoint)) == []

    def validated(record):
        record["inputs"]["skipRegionValidation"] = "false"

    provider = next(r.urn for r in graph.resources if r.type == "pulumi:providers:aws")
    plan = _plan(graph, edit_resource(checkpoint, lambda r: r["urn"] == provider, validated))
    assert _changed(plan) == [(provider, Action.UPDATE)]


def test_a_kubernetes_environment_applied_by_pulumi_aws_7_plans_no_changes() -> None:
    """Fraud-detection dev (Kubernetes): its state as written (AWS resources, if any, with their region) plans no
    change, also with the ``PULUMI_K8S_*`` options the environment of ``pulumi up`` made the SDK send, planned in an
    environment with the same variables (closing-43b-1: without them the SDK sends none, and the provider is updated)."""
    graph = compile_file(FRAUD, "dev")
    checkpoint = applied_state(graph)
    assert _changed(_plan(graph, checkpoint)) == []

    def env_options(record):
        record["inputs"].update(enableConfigMapMutable="true", enableServerSideApply="true",
                                suppressDeprecationWarnings="false")

    sent = edit_resource(checkpoint, lambda r: r["type"] == "pulumi:providers:kubernetes", env_options)
    env = {"PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE": "true", "PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY": "1",
           "PULUMI_K8S_SUPPRESS_DEPRECATION_WARNINGS": "False"}
    plan = _plan(graph, sent, env)
    assert _changed(plan) == [] and plan.warnings == ()
    provider = next(r.urn for r in graph.resources if r.type == "pulumi:providers:kubernetes")
    assert _changed(_plan(graph, sent)) == [(provider, Action.UPDATE)]


def test_one_resource_in_another_region_is_one_replace_naming_the_regions() -> None:
    """A stored ``region`` other than the provider's (the resource was created elsewhere) replaces that resource
    only (a dashboard: nothing refers to it), the reason naming both regions."""
    graph = compile_file(FRAUD, "prod")
    dashboard = next(r.urn for r in graph.resources if r.type == "aws:cloudwatch/dashboard:Dashboard")

    def moved(record):
        record["inputs"][REGION] = record["outputs"][REGION] = "us-east-2"

    plan = _plan(graph, edit_resource(applied_state(graph), lambda r: r["urn"] == dashboard, moved))
    assert _changed(plan) == [(dashboard, Action.REPLACE)]
    [change] = [c for c in plan.changes if c.urn == dashboard]
    assert "from us-east-2 to eu-west-1" in change.reason.message, change.reason.message
    assert [(a.path, a.before, a.after, a.forces_replacement) for a in change.changes] == [
        (REGION, "us-east-2", "eu-west-1", True)]


def test_a_provider_region_move_replaces_what_it_manages_with_the_regions_named() -> None:
    """The same state planned for a provider in another region: each region-aware resource (not the IAM ones) is
    replaced, its stored region -> the new one."""
    graph = compile_file(FRAUD, "prod")
    checkpoint = applied_state(graph)

    def elsewhere(record):
        record["inputs"][REGION] = record["outputs"][REGION] = "eu-central-1"

    for record in resources(checkpoint):
        if record["type"].startswith("aws:") and REGION in record.get("inputs", {}):
            elsewhere(record)
    plan = _plan(graph, checkpoint)
    by_urn = {c.urn: c for c in plan.changes}
    for resource in graph.resources:
        if resource.custom and region_aware(resource.type):
            assert by_urn[resource.urn].action is Action.REPLACE, resource.urn
        elif resource.type.startswith("aws:iam/"):
            assert by_urn[resource.urn].action is not Action.REPLACE, resource.urn


@pytest.mark.parametrize("listed", [False, True])
def test_the_walk_and_the_text_proof_agree_on_a_filled_region(listed) -> None:
    """Unit: ``filled`` drops a stored top-level region equal to the provider's (in the walk and in the text proof)
    and makes another one a change to the provider's; one listed in ``__defaults`` (an older bridge's layout) is
    dropped whatever its value (the bridge keeps a default's old value: pkg/tfbridge/schema.go, step 3a)."""
    rule = rule_for("aws:sns/topic:Topic")

    def lookup(urn, output):
        raise AssertionError("no refs here")

    desired = {"name": "t", "tags": {"team": "risk"}}
    for stored_region, differs in (("eu-west-1", False), ("us-east-1", not listed)):
        stored = {"__defaults": [REGION] if listed else [], "name": "t", REGION: stored_region,
                  "tags": {"team": "risk"}}
        n = normalize.normalize_inputs(stored, desired, name="t", rule=rule, lookup=lookup,
                                       filled={REGION: "eu-west-1"})
        assert n.differs is differs
        if differs:
            assert n.prior[REGION] == "us-east-1" and n.desired[REGION] == "eu-west-1"
        proved = normalize.unchanged(orjson.dumps(stored), desired, rule=rule, lookup=lookup,
                                     filled={REGION: "eu-west-1"})
        assert proved is (not differs)
    unknown = {"__defaults": [], "name": "t", REGION: "us-east-1", "tags": {"team": "risk"}}
    assert not normalize.normalize_inputs(unknown, desired, name="t", rule=rule, lookup=lookup,
                                          filled={REGION: None}).differs  # the provider's region is not known
    assert normalize.normalize_inputs(unknown, desired, name="t", rule=rule, lookup=lookup).differs  # no filled


def test_a_resource_without_a_provider_does_not_lend_its_unknown_region_to_the_explicit_ones() -> None:
    """Resources the graph gives no provider, whose state names the explicit ``aws`` (the default provider's region is
    not known here: not compared), leave the region of the resources registered with ``aws`` compared: one of those
    stored in another region is still replaced, whichever is planned first."""
    from dataclasses import replace as changed

    graph = compile_file(FRAUD, "prod")
    dashboard = next(r.urn for r in graph.resources if r.type == "aws:cloudwatch/dashboard:Dashboard")
    checkpoint = applied_state(graph)

    def moved(record):
        record["inputs"][REGION] = "us-east-2"

    checkpoint = edit_resource(checkpoint, lambda r: r["urn"] == dashboard, moved)
    loose = changed(graph, resources=tuple(
        changed(r, provider=None) if r.custom and region_aware(r.type) and r.urn != dashboard else r
        for r in graph.resources))
    plan = _plan(loose, checkpoint)
    by_urn = {c.urn: c for c in plan.changes}
    assert by_urn[dashboard].action is Action.REPLACE and "from us-east-2 to eu-west-1" in by_urn[dashboard].reason.message


def _k8s_dev(**stored):
    graph = compile_file(FRAUD, "dev")
    provider = next(r.urn for r in graph.resources if r.type == "pulumi:providers:kubernetes")
    checkpoint = edit_resource(applied_state(graph), lambda r: r["urn"] == provider,
                               lambda record: record["inputs"].update(stored))
    return graph, checkpoint, provider


def test_a_stored_kubernetes_option_this_environment_does_not_send_is_a_provider_update() -> None:
    """closing-43b-1: the last ``up`` ran with PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY=false (stored
    ``enableServerSideApply: "false"``); planned where it is not set, the SDK sends none: ``DiffConfig`` reports the
    removed key (an update of the provider, named by its variable) and ``Configure`` switches every object to
    server-side apply (its default): warned. Planned with the variable set as then: no change, no warning."""
    graph, checkpoint, provider = _k8s_dev(enableServerSideApply="false")
    plan = _plan(graph, checkpoint, {})
    assert _changed(plan) == [(provider, Action.UPDATE)]
    [change] = [c for c in plan.changes if c.urn == provider]
    assert [(a.path, a.before, a.after) for a in change.changes] == [("enableServerSideApply", "false", None)]
    assert "PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY is not set in this environment" in change.reason.message
    assert "the last `pulumi up` sent 'false'" in change.reason.message
    [warning] = [w for w in plan.warnings if "server-side apply" in w]
    assert "from off to on" in warning and "applied server-side" in warning, warning

    plan = _plan(graph, checkpoint, {"PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY": "false"})
    assert _changed(plan) == [] and plan.warnings == ()


def test_a_kubernetes_option_set_now_and_not_stored_is_a_provider_update() -> None:
    """The reverse: CI now exports PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY=false and PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE=true,
    the state holds neither: the SDK sends both (an update of the provider) and ``Configure`` runs client-side apply,
    ConfigMaps mutable: two warnings. A value the SDK does not read as a boolean sends nothing (no change), but the
    provider's ``Configure`` reads the raw variable (``== "true"``): server-side apply goes off, warned."""
    graph, checkpoint, provider = _k8s_dev()
    env = {"PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY": "false", "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE": "true"}
    plan = _plan(graph, checkpoint, env)
    assert _changed(plan) == [(provider, Action.UPDATE)]
    [change] = [c for c in plan.changes if c.urn == provider]
    assert sorted((a.path, a.before, a.after) for a in change.changes) == [
        ("enableConfigMapMutable", None, "true"), ("enableServerSideApply", None, "false")]
    assert "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE=true in this environment" in change.reason.message
    modes = sorted(w for w in plan.warnings if "Kubernetes provider" in w)
    assert len(modes) == 2 and "ConfigMap mutability from off to on" in modes[0] and "updated in place" in modes[0]
    assert "server-side apply from on to off" in modes[1] and "applied client-side" in modes[1], modes

    plan = _plan(graph, checkpoint, {"PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY": "no"})
    assert _changed(plan) == []
    [warning] = plan.warnings
    assert "server-side apply from on to off" in warning and "not a boolean the SDK reads" in warning, warning
    from mlops_infra.plan.provider_env import configured

    assert configured("enableServerSideApply", {}, {"PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY": "no"}) is False


def test_plan_reads_the_kubernetes_options_from_its_own_environment(monkeypatch) -> None:
    """The CLI's planning (plan, apply and promote plan through ``plan.make``) passes this process's PULUMI_K8S_*
    variables as ``program_env``: the state written with enableServerSideApply "false" plans no change with the
    variable set, an update without it."""
    graph, checkpoint, provider = _k8s_dev(enableServerSideApply="false")
    prior = parse_state(dumps(checkpoint).encode(), "prior.json")
    for name in [n for n in os.environ if n.startswith("PULUMI_K8S_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY", "false")
    assert _changed(plan_cmd.make(graph, prior, None, None, [])) == []
    monkeypatch.delenv("PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY")
    assert _changed(plan_cmd.make(graph, prior, None, None, [])) == [(provider, Action.UPDATE)]


def test_applied_states_record_the_explicit_providers_sdk_version() -> None:
    """closing-43b-2: the engine writes the SDK's version into an explicit provider's inputs (pulumi/pulumi
    source_eval.go ``SetProviderVersion``); applied_state does too, and such a state plans no change and no warning
    (the same version as the installed SDK's)."""
    import pulumi_aws
    import pulumi_kubernetes

    for env, package, sdk in (("prod", "aws", pulumi_aws), ("dev", "kubernetes", pulumi_kubernetes)):
        graph = compile_file(FRAUD, env)
        checkpoint = applied_state(graph)
        [provider] = [r for r in resources(checkpoint) if r["type"] == f"pulumi:providers:{package}"]
        assert provider["inputs"]["version"] == provider["outputs"]["version"] == sdk._utilities.get_version()
        plan = _plan(graph, checkpoint)
        assert _changed(plan) == [] and plan.warnings == (), (env, plan.warnings)
