"""``mlops-infra plan``: exit codes, formats, prior-state lookup, --out, --refresh, clean errors (the PR
workflow that runs it: test_pr_workflow.py)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from mlops_infra.cli.inputs import pick_env
from mlops_infra.cli.main import main
from mlops_infra.plan.planfile import check_fresh, load_plan
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"
SCENARIOS = REPO / "tests" / "scenarios"
BASE = SCENARIOS / "no-changes-after-apply" / "mlsystem.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test in an empty directory, no backend URL, no colour."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("MLOPS_INFRA_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps stderr at the terminal width; keep paths whole
    return tmp_path


@pytest.fixture()
def applied(tmp_path: Path) -> Path:
    """The base system's state right after it was applied (staging)."""
    path = tmp_path / "state.json"
    path.write_text(dumps(applied_state(compile_file(BASE, "staging"))), encoding="utf-8")
    return path


# -- defaults ----------------------------------------------------------------------------------


def test_default_plans_the_embedded_quickstart_on_a_fresh_machine(capsys) -> None:
    code, out, err = run(capsys, "plan", "--env", "prod")
    assert code == 0, err
    assert out.startswith("mlops-infra plan: churn-quickstart / prod\n")
    assert "Spec: the embedded quickstart example (no FILE given)" in out
    assert "Prior state: none found" in out
    assert out.splitlines()[-1].startswith("Plan: ") and "to add" in out
    assert "Traceback" not in err


def test_default_environment_is_dev_when_there_is_one(capsys) -> None:
    code, out, _ = run(capsys, "plan")
    assert code == 0
    assert out.startswith("mlops-infra plan: churn-quickstart / dev\n")


def test_local_mlsystem_yaml_wins_over_the_quickstart(capsys, tmp_path: Path) -> None:
    shutil.copy(BASE, tmp_path / "mlsystem.yaml")
    code, out, _ = run(capsys, "plan")
    assert code == 0
    assert out.startswith("mlops-infra plan: fraud-detection / staging\n")
    assert "Spec: ./mlsystem.yaml (no FILE given)" in out


@pytest.mark.parametrize(("names", "expected"), [
    (["prod"], "prod"), (["staging", "dev", "prod"], "dev"), (["qa", "prod"], "qa"), ([], None)])
def test_pick_env(names: list[str], expected: str | None) -> None:
    assert pick_env(names) == expected


# -- exit codes ----------------------------------------------------------------------------------


def test_changes_exit_0_without_detailed_exitcode_and_2_with_it(capsys) -> None:
    assert run(capsys, "plan", str(BASE))[0] == 0
    code, out, _ = run(capsys, "plan", str(BASE), "--detailed-exitcode")
    assert code == 2
    assert out.splitlines()[-1].startswith("Plan: ") and " to add" in out


def test_no_changes_exit_0_with_detailed_exitcode(capsys, applied: Path) -> None:
    code, out, err = run(capsys, "plan", str(BASE), "--state", str(applied), "--detailed-exitcode")
    assert code == 0, err
    assert out.splitlines()[-1] == "No changes. Your ML system matches the desired state."
    assert f"Prior state: {applied} (68 resources)" in out


def test_invalid_spec_exits_1_with_diagnostics(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.read_text().replace("replicas: {min: 2, max: 10}", "replicas: {min: 2, maxx: 10}"))
    code, out, err = run(capsys, "plan", str(bad), "--detailed-exitcode")
    assert code == 1
    assert out == ""
    assert "bad.yaml:" in err and "error" in err and "maxx" in err
    assert "Traceback" not in err


def test_unknown_environment_exits_1(capsys) -> None:
    code, _, err = run(capsys, "plan", str(BASE), "--env", "prdo")
    assert code == 1
    assert 'No environment "prdo"' in err


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"version": 3, "checkpoint": {"latest": {"resources": [',
                                     b"\x1f\x8b\x08broken gzip", b'{"version": 99, "checkpoint": {}}'])
def test_bad_state_file_exits_1_without_traceback(capsys, tmp_path: Path, content: bytes) -> None:
    state = tmp_path / "broken.json"
    state.write_bytes(content)
    code, out, err = run(capsys, "plan", str(BASE), "--state", str(state))
    assert code == 1
    assert out == ""
    assert "broken.json" in err and "error" in err
    assert "Traceback" not in err and "bug in mlops-infra" not in err


def test_missing_state_file_exits_1(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "plan", str(BASE), "--state", str(tmp_path / "nope.json"))
    assert code == 1
    assert "cannot read the state file" in err


def test_state_of_another_stack_is_refused(capsys, tmp_path: Path) -> None:
    graph = compile_file(BASE, "staging")
    other = json.loads(dumps(applied_state(graph)).replace("urn:pulumi:staging::", "urn:pulumi:prod::"))
    state = tmp_path / "prod.json"
    state.write_text(json.dumps(other))
    code, _, err = run(capsys, "plan", str(BASE), "--state", str(state))
    assert code == 1
    assert "the prior state is for stack 'prod', not 'staging'" in err


def test_remote_backend_url_is_refused_with_how_to_export(capsys, monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://my-state-bucket")
    code, _, err = run(capsys, "plan", str(BASE))
    assert code == 1
    assert "pulumi stack export" in err


# -- prior state lookup ----------------------------------------------------------------------------


def test_finds_the_file_backend_state_under_stacks_env(capsys, tmp_path: Path, applied: Path) -> None:
    stack_file = tmp_path / "stacks" / "staging" / ".pulumi" / "stacks" / "fraud-detection" / "staging.json.gz"
    stack_file.parent.mkdir(parents=True)
    (tmp_path / "stacks" / "staging" / ".pulumi" / "meta.yaml").write_text("version: 1\n")
    stack_file.write_bytes(gzip.compress(applied.read_bytes()))
    code, out, err = run(capsys, "plan", str(BASE), "--detailed-exitcode")
    assert code == 0, err
    assert "Prior state: stacks/staging/.pulumi/stacks/fraud-detection/staging.json.gz (68 resources" in out


def test_file_backend_url_is_honoured(capsys, monkeypatch, tmp_path: Path, applied: Path) -> None:
    backend = tmp_path / "elsewhere"
    (backend / ".pulumi" / "stacks" / "fraud-detection").mkdir(parents=True)
    (backend / ".pulumi" / "meta.yaml").write_text("version: 1\n")
    shutil.copy(applied, backend / ".pulumi" / "stacks" / "fraud-detection" / "staging.json")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{backend}")
    code, out, _ = run(capsys, "plan", str(BASE), "--detailed-exitcode")
    assert code == 0
    assert "staging.json (68 resources" in out


# -- formats and --out -----------------------------------------------------------------------------


def test_json_format_is_pure_json_on_stdout(capsys, applied: Path) -> None:
    code, out, err = run(capsys, "plan", str(BASE), "--state", str(applied), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["project"] == "fraud-detection" and data["stack"] == "staging"
    assert data["summary"]["hasChanges"] is False
    assert "Prior state:" in err


def test_markdown_format_has_the_marker_and_the_full_plan_command(capsys) -> None:
    code, out, _ = run(capsys, "plan", str(BASE), "--format", "markdown", "--max-chars", "4000")
    assert code == 0
    assert out.startswith("<!-- mlops-infra-plan: fraud-detection/staging -->\n")
    assert len(out) <= 4000
    assert f"mlops-infra plan {BASE} --env staging --format text" in out


def test_color_only_when_asked(capsys) -> None:
    assert "\x1b[" not in run(capsys, "plan", str(BASE))[1]
    assert "\x1b[" in run(capsys, "plan", str(BASE), "--color")[1]


def test_out_saves_the_plan_atomically_with_its_identity(capsys, tmp_path: Path, applied: Path) -> None:
    out_file = tmp_path / "plans" / "plan.json"
    out_file.parent.mkdir()
    out_file.write_text("old content")
    changed = tmp_path / "changed.yaml"
    changed.write_text(BASE.read_text().replace("version: 12", "version: 13"))
    code, out, err = run(capsys, "plan", str(changed), "--state", str(applied), "--out", str(out_file),
                         "--detailed-exitcode")
    assert code == 2, err
    assert f"Saved the plan to {out_file}." in out
    assert sorted(p.name for p in out_file.parent.iterdir()) == ["plan.json"]  # no temporary file left
    document = json.loads(out_file.read_text())
    prior_serial = document["plan"]["stateSerial"]
    assert document["planfile"]["stateSerial"] == prior_serial and len(prior_serial) == 64
    from mlops_infra.state.model_registry import offline_registry_view
    from mlops_infra.state.pulumi_state import load_state
    from tests.scenarios.harness import load_file

    # the graph plan compiles: with the registry view the prior state proves (finding A1)
    registry = offline_registry_view(load_file(changed, "staging"), "staging", load_state(applied))
    assert document["planfile"]["graphDigest"] == compile_file(changed, "staging", registry).digest()
    assert document["graph"]["project"] == "fraud-detection"
    saved = load_plan(out_file)
    check_fresh(saved, prior_serial, saved.graph_digest)


def test_out_to_a_missing_directory_exits_1(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "plan", str(BASE), "--out", str(tmp_path / "no" / "such" / "dir" / "plan.json"))
    assert code == 1
    assert "cannot write the plan file" in err and "Traceback" not in err



def _saved_text(result, graph, destination) -> str:
    """The plan file as the text path made it before ``plan --out`` wrote bytes, the slow path
    ``plan.saved_bytes`` is compared with: ``json.dumps`` of the document, checked by the redaction
    layer as text."""
    from mlops_infra.plan.planfile import plan_file_document
    from mlops_infra.secrets import check_output

    text = json.dumps(plan_file_document(result, graph), indent=2, sort_keys=True) + "\n"
    check_output(text, f"the plan file {destination.requested}")
    return text


def test_out_writes_the_bytes_the_text_path_wrote(capsys, monkeypatch, tmp_path: Path, applied: Path) -> None:
    """The plan file made, checked and written as bytes (plan.saved_bytes) is the file the text path
    (_saved_text, then an atomic text write) made, for a first plan and a plan against a state, in the
    text and JSON formats; stdout is the same too."""
    import mlops_infra.cli.commands.plan as plan_cmd
    from mlops_infra.fileio import write_text_atomic

    changed = tmp_path / "changed.yaml"
    changed.write_text(BASE.read_text().replace("version: 12", "version: 13"))
    written: list[str] = []
    for args in ((), ("--state", str(applied)), ("--format", "json"), ("--state", str(applied), "--format", "json")):
        fast_file, slow_file = tmp_path / "fast.json", tmp_path / "slow.json"
        fast = run(capsys, "plan", str(changed), "--out", str(fast_file), *args)
        with monkeypatch.context() as patched:
            patched.setattr(plan_cmd, "saved_bytes", lambda result, graph, destination: written.append(
                _saved_text(result, graph, destination)) or b"")
            patched.setattr(plan_cmd.OutputFile, "write_bytes",
                            lambda self, data: write_text_atomic(self.target, written.pop()))
            slow = run(capsys, "plan", str(changed), "--out", str(slow_file), *args)
        assert fast[0] == slow[0] == 0 and not written
        assert fast[1].replace("fast.json", "slow.json") == slow[1]
        assert fast_file.read_bytes() == slow_file.read_bytes() and fast_file.read_bytes().startswith(b"{")


def test_a_refused_plan_file_leaves_the_old_file_and_no_temporary(capsys, tmp_path: Path) -> None:
    """A secret in the plan file's bytes (an AWS key id in a bucket tag of the prior state): the plan is
    refused (exit 1, the value not shown), the file that was there is untouched and no temporary file is
    left beside it."""
    key_id = "AKIAIOSFODNN7EXAMPLE"

    def plant(record: dict) -> None:
        record["inputs"].setdefault("tags", {})["leaked"] = key_id

    state = tmp_path / "leaky.json"
    state.write_text(json.dumps(edit_resource(applied_state(compile_file(BASE, "staging")),
                                              lambda r: r["type"] == "aws:s3/bucket:Bucket"
                                              and r["urn"].endswith("::transactions-bucket"), plant)))
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "plan.json").write_bytes(b"old\n")
    for args in ((), ("--format", "json")):
        code, out, err = run(capsys, "plan", str(BASE), "--state", str(state), "--out", str(plans / "plan.json"), *args)
        assert code == 1 and out == ""
        assert "refusing to print or save the plan file" in err and "looks like an AWS access key id" in err, err
        assert key_id not in err
        assert [p.name for p in plans.iterdir()] == ["plan.json"] and (plans / "plan.json").read_bytes() == b"old\n"



def test_saved_bytes_are_the_saved_text_or_the_same_refusal(tmp_path: Path, applied: Path) -> None:
    """plan.saved_bytes (one pass: secrets and orjson's spelling) against _saved_text, for plans
    whose file orjson writes, one json.dumps writes (text that is not ASCII) and ones holding a secret:
    the same bytes, or the same refusal."""
    import dataclasses

    import mlops_infra.cli.commands.plan as plan_cmd
    from mlops_infra.errors import UserError
    from mlops_infra.fileio import output_file
    from mlops_infra.plan.model import AttributeChange
    from mlops_infra.plan.planner import make_plan
    from mlops_infra.state.pulumi_state import load_state

    graph = compile_file(BASE, "staging")
    plan = make_plan(graph, load_state(applied))
    destination = output_file(tmp_path / "p.json")
    first = plan.changes[0]
    variants = {"plain": ("a", "b"), "accented": ("caf\u00e9", "\u00e9quipe \x7f"), "key": ("a", "AKIAIOSFODNN7EXAMPLE"),
                "key-accented": ("caf\u00e9", "AKIAIOSFODNN7EXAMPLE"), "small-float": (1e-05, 2.5e-07),
                "candidate": ("a", "a" * 39 + "9.00001"),  # a trigger inside a scan hit (test_scan_fast_path)
                "key-in-url": ("a", "user:p\u00e4sswort@registry.example.com")}
    for name, (before, after) in variants.items():
        variant = dataclasses.replace(plan, changes=(dataclasses.replace(
            first, changes=(AttributeChange("tags.x", before, after),)), *plan.changes[1:]))
        outcomes = []
        for made in (plan_cmd.saved_bytes, lambda *a: _saved_text(*a).encode()):
            try:
                outcomes.append(made(variant, graph, destination))
            except UserError as err:
                outcomes.append(f"{err.summary}\n{err.detail}")
        assert outcomes[0] == outcomes[1], name
        assert isinstance(outcomes[0], str) == name.startswith("key"), name


# -- --refresh ---------------------------------------------------------------------------------------


def test_refresh_on_kubernetes_warns_and_plans(capsys, monkeypatch, tmp_path: Path) -> None:
    """No cluster to read (no kubeconfig): the preflight (finding A5) says it did not run, and the plan goes on."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    code, out, _ = run(capsys, "plan", str(QUICKSTART), "--env", "dev", "--refresh")
    assert code == 0
    assert "not supported" not in out
    assert "Warning: cluster preflight: not run for context" in out


def test_refresh_on_kubernetes_without_a_cluster_reports_every_object_unread(capsys, monkeypatch,
                                                                            tmp_path: Path) -> None:
    """Issue 8 item 4: objects in the state that cannot be read are unread by cause, never "Drift: none"."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    state = tmp_path / "state.json"
    state.write_text(dumps(applied_state(compile_file(QUICKSTART, "dev"))), encoding="utf-8")
    code, out, _ = run(capsys, "plan", str(QUICKSTART), "--env", "dev", "--state", str(state), "--refresh")
    assert code == 0
    assert "Drift: none" not in out and "Drift: unknown for " in out
    assert "kubernetes-unreachable" in out and "kubectl --context <context> get ns" in out
    code, _, _ = run(capsys, "plan", str(QUICKSTART), "--env", "dev", "--state", str(state), "--refresh",
                     "--detailed-exitcode")
    assert code == 1  # an incomplete refresh


@pytest.mark.timeout(120)
def test_refresh_on_kubernetes_reads_the_cluster_and_reports_drift(capsys, monkeypatch, tmp_path: Path) -> None:
    """Issue 8 item 4, the user's path: the environment's kubeconfig context points at the Kubernetes API
    stand-in (tests/support/kube_api.py) holding what was applied, with one Deployment scaled by hand."""
    import copy

    import yaml

    from tests.state.test_kube_live import cluster_crds
    from tests.support.kube_api import KubeApiStandIn

    graph = compile_file(QUICKSTART, "dev")
    checkpoint = applied_state(graph)
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint), encoding="utf-8")
    context = graph.metadata["context"]
    with KubeApiStandIn(crds=cluster_crds()) as api:
        applied_objects = [{k: v for k, v in r["inputs"].items() if k != "__defaults"}
                           for r in checkpoint["checkpoint"]["latest"]["resources"]
                           if r["type"].startswith("kubernetes:") and r.get("custom")]
        for obj in applied_objects:
            api.seed(copy.deepcopy(obj))
        deployment = next(o for o in applied_objects if o["kind"] == "Deployment")
        api.seed({**deployment, "spec": {**deployment["spec"], "replicas": 9}})
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "c", "cluster": {"server": api.url}}], "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}]}))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        code, out, _ = run(capsys, "plan", str(QUICKSTART), "--env", "dev", "--state", str(state), "--refresh")
        reads = api.requests_for("GET", f"/deployments/{deployment['metadata']['name']}")
    assert code == 0 and reads
    text = " ".join(out.split())
    assert "Drift: 1 resource changed outside mlops-infra since the last apply" in text
    name, before = deployment["metadata"]["name"], deployment["spec"]["replicas"]
    assert f"Deployment {name}: spec replicas {before} -> 9 changed outside Pulumi" in text
    assert f"~ spec.replicas: {before} (last applied) -> 9 (live)" in text
    assert "could not be read" not in text


@pytest.mark.moto
def test_refresh_on_aws_reads_live_state_through_aws_endpoint_url(capsys, monkeypatch, applied: Path) -> None:
    from tests.support.moto_accounts import caller_is
    from tests.support.moto_server import reset, running_moto_server

    # only the S3 side of the state: enough to prove the wiring, without starting every moto backend
    checkpoint = json.loads(applied.read_text())
    latest = checkpoint["checkpoint"]["latest"]
    latest["resources"] = [r for r in latest["resources"]
                           if not r.get("custom") or r["type"].startswith(("pulumi:providers:", "aws:s3/"))]
    applied.write_text(json.dumps(checkpoint))
    with running_moto_server() as url:
        reset(url)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        caller_is(monkeypatch, "111111111111")  # staging's account (the envs-7 check): moto's test keys are another's
        code, out, err = run(capsys, "plan", str(BASE), "--state", str(applied), "--refresh", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["refreshed"] is True
    # nothing of the applied state exists in the empty moto account: every readable resource is gone
    assert data["drift"] and {d["kind"] for d in data["drift"]} == {"deleted"}
    assert any(c["reason"]["code"] == "missing-in-cloud" for c in data["resourceChanges"])


# -- secrets -------------------------------------------------------------------------------------------


def test_a_plaintext_secret_in_the_state_is_never_printed(capsys, tmp_path: Path, applied: Path) -> None:
    secret = "https://hooks.slack.com/services/T0CLI0000/B0CLI0000/cliSecretValue0123456789"
    checkpoint = json.loads(applied.read_text())

    def plant(record: dict) -> None:
        variables = record["inputs"].setdefault("environment", {}).setdefault("variables", {})
        variables["WEBHOOK_URL"] = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                    "plaintext": json.dumps(secret)}

    leaked = edit_resource(checkpoint, lambda r: r["type"] == "aws:lambda/function:Function"
                           and r["urn"].endswith("-forwarder"), plant)
    state = tmp_path / "leaked.json"
    state.write_text(json.dumps(leaked))
    for fmt in ("text", "markdown", "json"):
        code, out, err = run(capsys, "plan", str(BASE), "--state", str(state), "--format", fmt)
        assert code == 0, err
        assert secret not in out + err and "cliSecretValue" not in out + err
