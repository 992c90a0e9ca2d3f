"""AWS: a drift monitor that stops publishing raises its own alarm (audit contract-4).

Before, the drift alarm of a silent job went to INSUFFICIENT_DATA, which Slack, PagerDuty and webhook
channels never hear (``forwarder.resolves_nothing``). Now each drift monitor with an audience has
``<system>-<env>.monitor-silent.<monitor>`` on the metric the job publishes, ``SampleCount < 1`` in all
of its periods, missing data breaching (``compile/aws/monitoring.silence_alarm``).

Timing (warm-up, one-minute periods) and audiences of more than five channels:
``test_aws_silence_alarm_timing.py``. moto stores an alarm but does not evaluate it (it stays INSUFFICIENT_DATA whatever the data), so the
compiled alarm is put to a moto server to show CloudWatch takes its inputs (and validated against
botocore's PutMetricAlarm shape), and its states are computed with the documented evaluation
(``tests/compile/aws/cloudwatch_evaluation.py``, pinned to the CloudWatch User Guide's tables), over
an evaluation range two periods longer than the evaluation periods, as in those tables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile.aws import alerting, forwarder
from tests.compile.aws.api_shapes import pascal, problems
from tests.compile.aws.cases import compile_text, compiled, of_type, placeholder
from tests.compile.aws.cloudwatch_evaluation import states
from tests.support.moto_server import client, running_moto_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REPO = Path(__file__).resolve().parents[3]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"


def _silence_alarms(graph) -> list:
    return [r for r in of_type(graph, alerting.ALARM) if r.role == "silence-alarm"]


def _params(inputs: dict) -> dict:
    """The alarm's PutMetricAlarm parameters (refs as placeholder ARNs)."""
    params = pascal({k: v for k, v in placeholder(inputs).items() if k not in ("tags", "name")})
    params["AlarmName"] = inputs["name"]
    params["Dimensions"] = [{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()]
    return params


def test_the_quickstart_drift_monitor_gets_an_alarm_for_not_measuring_told_to_its_alerts_channel() -> None:
    graph = compiled(QUICKSTART, "prod")
    [alarm] = _silence_alarms(graph)
    [drift] = [r for r in of_type(graph, alerting.ALARM) if r.address == "alerts.churn-api-drifting"]
    topic = {"$ref": next(r.urn for r in of_type(graph, alerting.TOPIC) if r.name == "data-team-topic"), "output": "arn"}
    i = alarm.inputs
    assert (alarm.address, i["name"]) == ("monitors.churn-api-drift", "churn-quickstart-prod.monitor-silent.churn-api-drift")
    # the metric the drift job publishes and the drift alarm watches
    assert (i["namespace"], i["metricName"], i["dimensions"]) == (
        drift.inputs["namespace"], drift.inputs["metricName"], drift.inputs["dimensions"])
    # schedule 6h: 2 x 6h + 1h deadline + 5 min = 13h05m -> 785 periods of a minute, all of them without a datapoint
    assert (i["statistic"], i["period"], i["comparisonOperator"], i["threshold"], i["evaluationPeriods"],
            i["datapointsToAlarm"], i["treatMissingData"]) == (
        "SampleCount", 60, "LessThanThreshold", 1, 785, 785, "breaching")
    assert i["alarmActions"] == i["okActions"] == [topic] and i["actionsEnabled"] is True
    head = forwarder._DESCRIPTION_HEAD.match(i["alarmDescription"])
    assert head and head.group("alert", "severity") == ("monitor_silent_churn-api-drift", "warning")
    assert "retention" in i["alarmDescription"] and len(i["alarmDescription"]) <= 1024
    assert problems("cloudwatch", "PutMetricAlarm", _params(i)) == []


def test_moto_takes_the_compiled_alarm_and_does_not_evaluate_it() -> None:
    [alarm] = _silence_alarms(compiled(QUICKSTART, "prod"))
    with running_moto_server() as url:
        cloudwatch = client("cloudwatch", url)
        cloudwatch.put_metric_alarm(**_params(alarm.inputs))
        [stored] = cloudwatch.describe_alarms(AlarmNames=[alarm.inputs["name"]])["MetricAlarms"]
        assert (stored["TreatMissingData"], stored["EvaluationPeriods"], stored["Statistic"]) == ("breaching", 785, "SampleCount")
        # no datapoint at all, yet OK: moto starts an alarm in OK and never evaluates it
        # (moto/cloudwatch/models.py FakeAlarm: state_value "OK"), where CloudWatch starts in INSUFFICIENT_DATA
        assert stored["StateValue"] == "OK"


SCHEDULE_MINUTES = 360


def _evaluate(inputs: dict, published: list[int]) -> list[str]:
    """States at the end of each 6-hour schedule for ``published`` (1: that schedule's run put a
    datapoint, stamped 5 minutes into it; 0: it did not), evaluated minute by minute."""
    minutes: list[float | None] = [None] * (SCHEDULE_MINUTES * len(published))
    for n, p in enumerate(published):
        if p:
            minutes[n * SCHEDULE_MINUTES + 5] = 1.0
    per_minute = states(minutes, inputs, inputs["evaluationPeriods"] + 2)
    return per_minute[SCHEDULE_MINUTES - 1::SCHEDULE_MINUTES]


def test_silent_for_its_periods_alarms_and_a_healthy_or_once_late_job_never_does() -> None:
    inputs = _silence_alarms(compiled(QUICKSTART, "prod"))[0].inputs
    periods = inputs["evaluationPeriods"]
    assert _evaluate(inputs, [1] * 12) == ["OK"] * 12
    assert "ALARM" not in _evaluate(inputs, [1, 1, 1, 0, 1, 1, 0, 1, 1])  # single missed runs
    stopped = _evaluate(inputs, [1] * 6 + [0] * 8)  # e.g. the baseline expired after 6 runs
    first = stopped.index("ALARM")
    # the last datapoint at minute 5 of schedule 5: 785 minutes later is in schedule 7 (not at the end of 6)
    assert periods == 785 and first == 7 and stopped[first:] == ["ALARM"] * len(stopped[first:])
    assert _evaluate(inputs, [1] * 6 + [0] * 8 + [1]) [-1] == "OK"  # publishing again resolves it
    # first apply: the periods before the first run are missing (breaching), but the alarm waits its warm-up
    # of the horizon first (test_aws_silence_alarm_timing.py: a clean first apply notifies nobody)
    assert inputs["warmUpConfiguration"]["warmUpPeriodDurationInMinutes"] == periods


QUALITY = """\
  - name: churn-api-quality
    endpoint: churn-api
    metric: data_quality
    baseline: customers
    threshold: 0.1
"""
PAGER = """\
  - name: pager
    kind: email
    address: pager@example.com
"""


def _doc(schedule: str = "1h", channels: bool = True) -> str:
    """The quickstart with a data-quality monitor without alert, a second channel ``pager`` (the drift
    alert notifies data-team only) and the drift monitor's ``schedule``; without channels and alerts."""
    text = QUICKSTART.read_text()
    text = text.replace("    schedule: 6h\n", f"    schedule: {schedule}\n" + QUALITY)
    if channels:
        return text.replace("    address: data-team@example.com\n", "    address: data-team@example.com\n" + PAGER)
    text = text[:text.index("alerts:\n")] + text[text.index("environments:\n"):]
    return text.replace("      rollback_on: [churn-api-slow]\n", "")


def test_a_monitor_without_alerts_tells_every_channel_and_one_with_alerts_their_channels() -> None:
    graph = compile_text(_doc())
    topics = {r.name.removesuffix("-topic"): r.urn for r in of_type(graph, alerting.TOPIC)}
    told = {a.address: [t["$ref"] for t in a.inputs["alarmActions"]] for a in _silence_alarms(graph)}
    assert told == {"monitors.churn-api-drift": [topics["data-team"]],
                    "monitors.churn-api-quality": [topics["data-team"], topics["pager"]]}
    hourly = next(a for a in _silence_alarms(graph) if a.address == "monitors.churn-api-drift").inputs
    # 1h: 2h + 1h deadline + 5 min -> 185 periods of a minute
    assert (hourly["period"], hourly["evaluationPeriods"], hourly["datapointsToAlarm"]) == (60, 185, 185)


def test_no_channel_no_alarm_and_a_schedule_too_long_for_cloudwatch_gets_none() -> None:
    assert _silence_alarms(compile_text(_doc(channels=False))) == []
    # 3d: 146 periods of an hour (the 7-day evaluation range); 4d: two runs do not fit, no alarm
    three = [a.inputs for a in _silence_alarms(compile_text(_doc("3d"))) if a.inputs["name"].endswith(".churn-api-drift")]
    assert [(a["period"], a["evaluationPeriods"]) for a in three] == [(3600, 146)]
    assert [a.address for a in _silence_alarms(compile_text(_doc("4d")))] == ["monitors.churn-api-quality"]


def test_an_audience_of_more_than_five_channels_gets_one_alarm_per_five_putmetricalarm_takes() -> None:
    extra = "".join(f"  - name: team{n}\n    kind: email\n    address: team{n}@example.com\n" for n in range(5))
    graph = compile_text(_doc().replace(PAGER, PAGER + extra))
    quality = [a.inputs for a in _silence_alarms(graph) if a.address == "monitors.churn-api-quality"]
    topics = {r.urn: r.name.removesuffix("-topic") for r in of_type(graph, alerting.TOPIC)}
    assert [[topics[t["$ref"]] for t in a["alarmActions"]] for a in quality] == [
        ["data-team", "pager", "team0", "team1", "team2"], ["team3", "team4"]]
    assert all(problems("cloudwatch", "PutMetricAlarm", _params(a)) == [] for a in quality)
