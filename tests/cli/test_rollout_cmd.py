"""``mlops-infra rollout``: dry-run schedule, bad input, passes against a moto server, and a rollback the driver
cannot carry out (a clear error, then ``--resume``), as a user runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.rollout.connect import aws_target
from mlops_infra.spec import load_system
from tests.rollout.aws_world import IMAGE, ROLE, status_tags
from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.moto_accounts import account_client as client
from tests.support.moto_accounts import use_account
from tests.support.moto_server import reset, running_moto_server
from tests.support.text_edits import edit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def test_dry_run_prints_the_schedule_and_worst_case():
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--dry-run")
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Rollout of scorer in prod (SageMaker): canary, 6 steps, bake 10m00s each"
    assert "     3      10%     20m00s  10m00s  1 beside 3 stable" in lines
    assert "     5      75%     40m00s  10m00s  3 beside 3 stable" in lines
    assert "  total: 1h00m if every gate stays green; worst case 1h15m (a gate unreadable at the last step)" in lines
    assert ("  each bake counts from when its step is in effect (the endpoint InService again after the change: "
            "minutes while SageMaker adds the step's canary instances); each step starts, and the total ends, that "
            "much later than shown") in lines
    # 2.417 instance-hours of bakes and hold, plus the start's and the finish's fleet swaps (4 + 6) x 1200 s (rolloutaws-4)
    assert any(line.startswith("  worst-case overlap: 5.75 instance-hours") or "worst-case extra cost" in line for line in lines)


def test_dry_run_on_kubernetes_and_with_a_priced_region(tmp_path):
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "dev", "--dry-run")
    assert result.code == 0 and "in dev (KServe)" in result.stdout
    assert "each bake counts from when its step is in effect (Knative's route serving the share" in result.stdout
    priced = tmp_path / "us.yaml"
    priced.write_text(edit(EXAMPLE.read_text(), "region: eu-west-1", "region: us-east-1"))
    result = run_cli("rollout", "scorer", str(priced), "--env", "prod", "--dry-run")
    assert result.code == 0, result.output
    assert "worst-case extra cost during the overlap: $" in result.stdout and "/h on-demand, us-east-1" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("rollout", "scorr", str(EXAMPLE), "--env", "prod"), "no endpoint 'scorr' in the system"),
    (("rollout", "scorer", str(EXAMPLE), "--env", "nope"), "nope"),
])
def test_bad_input_is_a_clear_error(args, message):
    result = run_cli(*args)
    assert result.code == 1 and message in result.output and "Traceback" not in result.output


def test_an_endpoint_without_a_progressive_rollout(tmp_path):
    text = edit(EXAMPLE.read_text(), "strategy: canary ", "strategy: rolling ")
    text = edit(text, "steps: [2, 5, 10, 25, 75, 100]", "steps: [25]")
    path = tmp_path / "rolling.yaml"
    path.write_text(text)
    result = run_cli("rollout", "scorer", str(path), "--env", "prod")
    assert result.code == 1 and "has no progressive rollout in environment 'prod'" in result.output


def test_the_console_script_prints_no_traceback():
    result = run_cli_subprocess("rollout", "scorr", str(EXAMPLE), "--env", "prod")
    assert result.code == 1 and "Did you mean 'scorer'?" in result.stderr and "Traceback" not in result.output


@pytest.fixture
def moto_env(monkeypatch):
    """The moto server, with credentials of prod's account (222222222222) in the process's ``AWS_*``: the rollout
    acts only with credentials of the environment's account (``rollout/connect.py`` ``check_account``), and the
    helpers' ``client`` seeds and reads that account."""
    with running_moto_server() as url:
        reset(url)
        use_account(url, "222222222222", monkeypatch)
        yield url


def deployed_from_graph(url: str) -> str:
    """The prod endpoint as an apply leaves it before a canary: v11 serving, the graph's v12 ready."""
    graph = compile_system(load_system(EXAMPLE, "prod").system, "prod")
    target = aws_target(graph, graph.rollouts["endpoints.scorer"])
    sm = client("sagemaker", url, region="eu-west-1")
    old_model = target.model.replace("-v12-", "-v11-")
    for model in (old_model, target.model):
        sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    for name, model in (("scorer-cfg-old", old_model), (target.final_config, target.model)):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "primary", "ModelName": model, "InstanceType": "ml.g5.xlarge",
            "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}])
    sm.create_endpoint(EndpointName=target.endpoint, EndpointConfigName="scorer-cfg-old")
    return target.endpoint


@pytest.mark.moto
def test_passes_abort_and_resume_through_the_cli(moto_env):
    endpoint = deployed_from_graph(moto_env)
    sm = client("sagemaker", moto_env, region="eu-west-1")
    nothing = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--abort")
    assert nothing.code == 1 and "nothing to abort" in nothing.output
    assert status_tags(sm, endpoint) == {}  # nothing changed
    first = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert first.code == 0, first.output
    assert "start: 2% of traffic to version 12 (from 11)" in first.stdout
    assert status_tags(sm, endpoint)["phase"] == "progressing"
    second = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert "not 2%: setting it" in second.stdout and "fraud-detection-prod-scorer-latency" in second.stdout
    aborted = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--abort")
    assert aborted.code == 0 and "aborted by the operator at step 1 (2%)" in aborted.stdout
    assert status_tags(sm, endpoint)["phase"] == "aborted"
    resumed = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--resume")
    assert resumed.code == 0 and "start: 2%" in resumed.stdout


@pytest.mark.moto
def test_a_canary_whose_own_latency_breaches_is_rolled_back(moto_env):
    """The user's path: ``mlops-infra rollout`` of the example's canary on moto, the compiled latency alarm
    in place (with ``Maximum`` for ``p99``: moto's GetMetricData computes no percentiles), SageMaker's
    datapoints simulated: the stable variant is fine, the canary variant (the new version) is slow. The
    pass after the canary takes its 2% rolls back; before the gates read the canary variant, they read "ok"."""
    endpoint = deployed_from_graph(moto_env)
    graph = compile_system(load_system(EXAMPLE, "prod").system, "prod")
    alarm = next(r.inputs for r in graph.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"
                 and r.inputs["name"] == "fraud-detection-prod-scorer-latency")
    cw = client("cloudwatch", moto_env, region="eu-west-1")
    dims = [{"Name": k, "Value": v} for k, v in sorted(alarm["dimensions"].items())]
    assert {"Name": "VariantName", "Value": "primary"} in dims
    cw.put_metric_alarm(AlarmName=alarm["name"], Namespace=alarm["namespace"], MetricName=alarm["metricName"],
                        Dimensions=dims, Statistic="Maximum", Period=alarm["period"],
                        EvaluationPeriods=alarm["evaluationPeriods"], Threshold=alarm["threshold"],
                        ComparisonOperator=alarm["comparisonOperator"], TreatMissingData=alarm["treatMissingData"])
    first = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert first.code == 0 and "start: 2% of traffic to version 12 (from 11)" in first.stdout, first.output
    canary = [{**d, "Value": "canary"} if d["Name"] == "VariantName" else d for d in dims]
    # a second ago: moto truncates GetMetricData's EndTime to the second and excludes what is at or after it
    when = datetime.now(UTC) - timedelta(seconds=1)
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "ModelLatency", "Dimensions": dims, "Value": 40000, "Unit": "Microseconds", "Timestamp": when},
        {"MetricName": "ModelLatency", "Dimensions": canary, "Value": 3000000, "Unit": "Microseconds",
         "Timestamp": when}])
    second = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")  # the canary was deployed at 0%
    assert "fraud-detection-prod-scorer-latency firing 3e+06" in second.stdout, second.output
    assert "not 2%: setting it" in second.stdout
    third = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert "roll back: fraud-detection-prod-scorer-latency = 3e+06 (canary variant breached 250000.0 in this " \
           "step) fired at step 1 (2% on version 12)" in third.stdout, third.output
    sm = client("sagemaker", moto_env, region="eu-west-1")
    assert status_tags(sm, endpoint)["phase"] == "rolled_back"


def _aborted_on_the_final_config(url: str) -> tuple[str, str]:
    """The state an abort that lost to a concurrent finish leaves when the rollout config it was rolled out from is
    gone (``tests/rollout/test_sagemaker_abort_lost_to_finish.py`` races into it): the endpoint on the graph's final
    config (version 12 serves all traffic), its status ``aborted``, no rollout config kept. Before, ``rollout``
    showed "internal error: RollbackImpossible ... This is a bug in mlops-infra" and the traffic split nowhere."""
    endpoint = deployed_from_graph(url)
    graph = compile_system(load_system(EXAMPLE, "prod").system, "prod")
    final = aws_target(graph, graph.rollouts["endpoints.scorer"]).final_config
    sm = client("sagemaker", url, region="eu-west-1")
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=final)
    arn = sm.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    status = {"phase": "aborted", "revision": "12", "previous": "11", "step": "5", "since": "1800000000.000",
              "reason": "aborted by the operator at step 6 (100%)"}
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"mlops-infra:rollout:{k}", "Value": v} for k, v in status.items()])
    return endpoint, final


@pytest.mark.moto
def test_an_impossible_rollback_is_a_clear_error_then_resume_keeps_the_version(moto_env):
    endpoint, final = _aborted_on_the_final_config(moto_env)
    result = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert result.code == 1, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert (f"{EXAMPLE}: error: rollout of 'scorer': version 12 serves all traffic on endpoint {endpoint} ({final}) "
            "while its rollout status says aborted, and the rollout config it was rolled out from is gone: the driver "
            "cannot move the traffic back") in result.stderr
    assert f"  traffic now: version 12 100% (primary) on {final}" in result.stderr.splitlines()
    assert (f"  what to do: to roll back, set version 11 again in the spec and apply it (a new rollout); to keep "
            f"version 12 (a concurrent finish landed it), run `mlops-infra rollout scorer {EXAMPLE} --env prod` with "
            "`--resume`") in result.stderr.splitlines()
    sm = client("sagemaker", moto_env, region="eu-west-1")
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"] == final  # nothing moved
    resumed = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--resume")
    assert resumed.code == 0, resumed.output
    assert "resume: version 12 already serves all traffic: recorded as finished" in resumed.stdout
    assert status_tags(sm, endpoint)["phase"] == "finished"
    after = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert after.code == 0 and "version 12 finished: resumed: version 12 already served all traffic" in after.stdout


@pytest.mark.moto
def test_the_console_script_shows_it_without_a_traceback_unless_debugging(moto_env):
    _aborted_on_the_final_config(moto_env)
    plain = run_cli_subprocess("rollout", "scorer", str(EXAMPLE), "--env", "prod")
    assert plain.code == 1 and "traffic now: version 12 100% (primary)" in plain.stderr, plain.output
    assert "Traceback" not in plain.output and "internal error" not in plain.output
    debug = run_cli_subprocess("rollout", "scorer", str(EXAMPLE), "--env", "prod", env={"MLOPS_INFRA_DEBUG": "1"})
    assert debug.code == 1 and "Traceback" in debug.stderr and "RollbackImpossible" in debug.stderr
    assert "traffic now: version 12 100% (primary)" in debug.stderr


@pytest.mark.moto
def test_an_abort_that_loses_its_race_says_whether_it_was_recorded(moto_env, monkeypatch):
    """An ``--abort`` whose compare fails (a scheduled pass acted between its read and its writes) wrote nothing: it
    says so and exits 1, where it printed its "aborted by the operator" line and exited 0. One whose status was
    written but whose traffic call was refused (``drivers/sagemaker.py`` **Races**) says the abort is recorded."""
    import mlops_infra.rollout.connect as connect_module
    from mlops_infra.rollout.runner import Lost, reconcile_once

    endpoint = deployed_from_graph(moto_env)
    sm = client("sagemaker", moto_env, region="eu-west-1")
    for _ in range(2):  # the start, then the first step's 2%
        assert run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod").code == 0
    real = connect_module.connect

    def raced(lose_after_writing: bool):
        def connect(*args, **kwargs):
            connected = real(*args, **kwargs)
            inner = connected.driver

            class Raced:
                def observe(self):
                    return inner.observe()

                def act(self, decision, observed, now):
                    if lose_after_writing:  # the status goes through, SageMaker refuses the traffic call
                        inner.act(decision, observed, now)
                        raise Lost("Cannot update in-progress endpoint")
                    scheduled = real(*args, **kwargs)  # a scheduled pass acts between this pass's read and writes
                    reconcile_once(scheduled.spec, scheduled.driver, scheduled.gates, now)
                    return inner.act(decision, observed, now)

            connected.driver = Raced()
            return connected
        return connect

    monkeypatch.setattr(connect_module, "connect", raced(lose_after_writing=False))
    lost = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--abort")
    assert lost.code == 1, lost.output
    assert "aborted by the operator at step 1 (2%) (another reconciler acted first)" in lost.stdout
    assert (f"{EXAMPLE}: error: the abort of 'scorer' did not take effect: another pass changed the rollout first"
            in lost.stderr)
    assert ("  Nothing of the abort was written; the rollout of version 12 is progressing: run the same command again "
            "to abort it.") in lost.stderr.splitlines()
    assert status_tags(sm, endpoint)["phase"] == "progressing"
    monkeypatch.setattr(connect_module, "connect", raced(lose_after_writing=True))
    recorded = run_cli("rollout", "scorer", str(EXAMPLE), "--env", "prod", "--abort")
    assert recorded.code == 0, recorded.output
    assert "  the abort is recorded: aborted by the operator at step 1 (2%)" in recorded.stdout.splitlines()
    assert status_tags(sm, endpoint)["phase"] == "aborted"


def test_an_unknown_endpoint_of_a_hundred_names_six_of_them_and_how_many_more(tmp_path) -> None:
    """The fix listed every endpoint of the system (1,000 on the benchmarks' system): the first six, then how
    many more (:mod:`mlops_infra.name_lists`)."""
    from types import SimpleNamespace

    from mlops_infra.cli.commands.rollout import _check_endpoint
    from mlops_infra.errors import UserError

    system = SimpleNamespace(endpoints=[SimpleNamespace(name=f"ep-{i:03}") for i in range(100)])
    with pytest.raises(UserError) as raised:
        _check_endpoint(system, "nope", tmp_path / "mlsystem.yaml")
    assert raised.value.detail == "Endpoints: ep-000, ep-001, ep-002, ep-003, ep-004, ep-005 and 94 more."
