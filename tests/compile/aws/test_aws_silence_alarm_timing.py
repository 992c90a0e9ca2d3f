"""AWS: when the "monitor stopped measuring" alarm fires, and who hears it (compile/aws/monitoring.silence_alarms).

Stop 32's alarm (a35a711) had three known defects: it was in ALARM right after a clean first apply
until the job first published (one false notice per new drift monitor); it fired hours past the
monitor's horizon (schedule-long periods, 4 x 1 h for an hourly monitor, whose whole evaluation range
had to be empty); and an audience of more than five channels was cut to five. Now it has a warm-up of
the horizon (``WarmUpConfiguration``), one-minute periods, and one alarm per five channels.

moto stores alarms but does not evaluate them, so the states come from the repository's CloudWatch
evaluation stand-in (``tests/compile/aws/cloudwatch_evaluation.alarm_state``, pinned to the User
Guide's tables), minute by minute from the alarm's creation. :func:`_timeline` adds what the stand-in
does not model: the warm-up (INSUFFICIENT_DATA, no actions, until it ends: User Guide "Alarm warm-up
periods") and the job's lateness (a run stamps its datapoint with its start and puts it up to its
deadline later, so an evaluation sees only the datapoints that have arrived). The evaluation range is
two periods longer than the evaluation periods, as in the guide's tables (5 for 3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile.aws import alerting
from mlops_infra.spec import parse_system
from tests.compile.aws.api_shapes import pascal, problems
from tests.compile.aws.cases import compile_text, of_type, placeholder
from tests.compile.aws.cloudwatch_evaluation import alarm_state
from tests.compile.aws.pulumi_schema import check_inputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
QUICKSTART = (Path(__file__).resolve().parents[3] / "examples" / "quickstart" / "mlsystem.yaml").read_text()
EXTRA_RANGE = 2
"""Periods the evaluation range holds beyond the evaluation periods (the User Guide's tables: 5 for 3)."""


def _doc(schedule: str = "6h", channels: int = 0) -> str:
    """The quickstart with its drift monitor run every ``schedule`` and ``channels`` more email channels
    (its drift alert notifies data-team only; the extra ones matter to a monitor without alerts)."""
    text = QUICKSTART.replace("    schedule: 6h\n", f"    schedule: {schedule}\n")
    extra = "".join(f"  - name: team{n}\n    kind: email\n    address: team{n}@example.com\n" for n in range(channels))
    return text.replace("    address: data-team@example.com\n", "    address: data-team@example.com\n" + extra)


def _silence(text: str) -> list:
    return [r for r in of_type(compile_text(text), alerting.ALARM) if r.role == "silence-alarm"]


def _alarm(schedule: str) -> dict:
    [alarm] = _silence(_doc(schedule))
    return alarm.inputs


def _timeline(alarm: dict, runs: list[tuple[int, int]], minutes: int) -> list[str]:
    """The alarm's state at the end of each minute after its creation (minute 0). ``runs``: the
    ``(stamp, arrival)`` minutes of each datapoint the job published."""
    period = alarm["period"] // 60
    periods, span = alarm["evaluationPeriods"], alarm["evaluationPeriods"] + EXTRA_RANGE
    warm = alarm.get("warmUpConfiguration", {}).get("warmUpPeriodDurationInMinutes", 0)
    out, current = [], "INSUFFICIENT_DATA"
    for t in range(1, minutes + 1):
        if t < warm:
            out.append("INSUFFICIENT_DATA")
            continue
        window: list[float | None] = [None] * span
        for stamp, arrival in runs:
            back = (t - 1 - stamp) // period  # 0: the period ending now
            if arrival <= t and 0 <= back < span:
                window[span - 1 - back] = 1.0
        current = alarm_state(window, periods=periods, to_alarm=alarm["datapointsToAlarm"],
                              threshold=alarm["threshold"], comparison=alarm["comparisonOperator"],
                              treat_missing=alarm["treatMissingData"], current=current)
        out.append(current)
    return out


def _runs(schedule: int, first: int, until: int, *, skip: tuple[int, ...] = (), start_delay: int = 5,
          deadline: int | None = None) -> list[tuple[int, int]]:
    """Datapoints of runs every ``schedule`` minutes from minute ``first`` before ``until``, but the
    runs numbered in ``skip``: stamped ``start_delay`` minutes after the run starts (the container
    starts), arriving at the run's deadline (the slowest healthy run)."""
    deadline = schedule if deadline is None else deadline
    return [(start + start_delay, start + deadline) for n, start in enumerate(range(first, until, schedule))
            if n not in skip]


HOURLY, SIX_HOURS = 60, 360
HORIZON = {"1h": 185, "6h": 785}  # 2 schedules + the deadline (1 h) + 5 min, in minutes


@pytest.mark.parametrize("schedule", ["1h", "6h"])
def test_a_clean_first_apply_notifies_nobody(schedule: str) -> None:
    alarm = _alarm(schedule)
    every = {"1h": HOURLY, "6h": SIX_HOURS}[schedule]
    minutes = 4 * HORIZON[schedule]
    # the first run a whole schedule after creation (CronJob-like), or at once; every run as slow as its deadline
    for first in (every, 1):
        states = _timeline(alarm, _runs(every, first, minutes, deadline=min(every, 60)), minutes)
        assert "ALARM" not in states, (first, states.index("ALARM"))
        assert states[-1] == "OK"


@pytest.mark.parametrize("schedule", ["1h", "6h"])
def test_a_monitor_that_never_publishes_fires_at_its_horizon_from_creation(schedule: str) -> None:
    alarm = _alarm(schedule)
    states = _timeline(alarm, [], 2 * HORIZON[schedule])
    # as on Kubernetes (the CronJob's age): nothing before the horizon, ALARM from it on
    assert states.index("ALARM") + 1 == HORIZON[schedule]
    assert set(states[HORIZON[schedule] - 1:]) == {"ALARM"}


@pytest.mark.parametrize("schedule", ["1h", "6h"])
def test_a_job_that_stops_fires_at_its_horizon_and_a_late_or_once_missed_one_never(schedule: str) -> None:
    alarm = _alarm(schedule)
    every, horizon = {"1h": HOURLY, "6h": SIX_HOURS}[schedule], HORIZON[schedule]
    deadline = min(every, 60)
    stop = every * 6
    runs = _runs(every, every, stop, deadline=deadline)
    last_stamp = runs[-1][0]
    states = _timeline(alarm, runs, stop + 2 * horizon)
    assert "ALARM" not in states[:last_stamp]
    first = states.index("ALARM", last_stamp) + 1
    # the Kubernetes rule's horizon after the last success, plus at most the datapoint's own minute and the
    # evaluation range's extra ones
    assert last_stamp + horizon <= first <= last_stamp + horizon + 1 + EXTRA_RANGE, (first - last_stamp, horizon)
    # publishing again resolves it
    again = [*runs, (first + 10, first + 10)]
    assert _timeline(alarm, again, first + 11)[-1] == "OK"
    # one missed run now and then, every run at its deadline: never
    minutes = every * 14
    missed = _runs(every, every, minutes, skip=(2, 6, 10), deadline=deadline)
    assert "ALARM" not in _timeline(alarm, missed, minutes)


def test_the_alarm_inputs_are_what_cloudwatch_and_pulumi_take() -> None:
    for schedule in ("1h", "6h", "3d"):
        alarm = _alarm(schedule)
        params = pascal({k: v for k, v in placeholder(alarm).items() if k not in ("name", "tags")})
        params["AlarmName"] = alarm["name"]
        params["Dimensions"] = [{"Name": k, "Value": v} for k, v in alarm["dimensions"].items()]
        assert problems("cloudwatch", "PutMetricAlarm", params) == [], schedule
        assert check_inputs(alerting.ALARM, alarm) == [], schedule
    hourly = _alarm("1h")
    assert (hourly["period"], hourly["evaluationPeriods"], hourly["datapointsToAlarm"]) == (60, 185, 185)
    assert hourly["warmUpConfiguration"] == {"warmUpPeriodDurationInMinutes": 185,
                                             "onlyStartEvaluatingAfterWarmUpPeriodEnds": True}
    assert "first applied" not in hourly["alarmDescription"]


def test_a_three_day_schedule_has_hour_periods_and_the_longest_warm_up() -> None:
    alarm = _alarm("3d")
    # 2 x 3 d + 1 h + 5 min = 145 h 5 min -> 146 one-hour periods (a 7-day range at most); warm-up 2 days at most
    assert (alarm["period"], alarm["evaluationPeriods"]) == (3600, 146)
    assert alarm["warmUpConfiguration"]["warmUpPeriodDurationInMinutes"] == 2880
    # a first run published within the 2-day warm-up keeps it quiet
    states = _timeline(alarm, [(60 * 24 + 5, 60 * 25), *_runs(3 * 1440, 4 * 1440, 9 * 1440, deadline=60)], 9 * 1440)
    assert "ALARM" not in states
    # the documented notice of schedules over 47 h: a first run a whole schedule after creation has not
    # published when the warm-up ends; OK once it has
    late = _timeline(alarm, _runs(3 * 1440, 3 * 1440, 9 * 1440, deadline=60), 9 * 1440)
    assert late.index("ALARM") + 1 == 2880 and late[3 * 1440 + 60 - 1] == "OK" and "ALARM" not in late[3 * 1440 + 60:]


def _warnings(text: str) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml").diagnostics if d.code == "monitor-not-watched"]


def test_a_seven_day_schedule_gets_no_alarm_and_validate_says_so() -> None:
    assert _silence(_doc("7d")) == []
    # prod (AWS) only: dev is on Kubernetes, where a rule on the last success has no such limit
    [found] = _warnings(_doc("7d"))
    assert not found.is_error and found.path == ("monitors", 1, "schedule")
    assert found.location.line == 47  # the drift monitor's schedule line
    assert "churn-api-drift" in found.summary and "environment prod" in found.summary
    assert "300450s" in found.detail
    assert _warnings(_doc("3d")) == [] and _warnings(_doc("6h")) == []


def test_the_validate_limit_is_the_compilers() -> None:
    """300450s (3 d 11 h 27 min 30 s): a horizon of exactly 168 hours, the seven-day range; a second more does not fit."""
    from mlops_infra.spec.monitor_silence_limits import AWS_SILENCE_MAX_SCHEDULE_SECONDS

    assert AWS_SILENCE_MAX_SCHEDULE_SECONDS == 300_450
    longest = _silence(_doc("300450s"))
    assert [(a.inputs["period"], a.inputs["evaluationPeriods"]) for a in longest] == [(3600, 168)]
    assert _warnings(_doc("300450s")) == []
    assert _silence(_doc("300451s")) == [] and len(_warnings(_doc("300451s"))) == 1


def test_more_than_five_channels_are_all_told_by_one_alarm_per_five() -> None:
    # a data-quality monitor without alerts tells every channel: data-team and team0..team6 (8)
    quality = "  - name: churn-api-quality\n    endpoint: churn-api\n    metric: data_quality\n    baseline: customers\n    threshold: 0.1\n"
    text = _doc(channels=7).replace("    schedule: 6h\n", "    schedule: 6h\n" + quality)
    graph = compile_text(text)
    topics = {r.urn: r.name.removesuffix("-topic") for r in of_type(graph, alerting.TOPIC)}
    alarms = [r for r in of_type(graph, alerting.ALARM)
              if r.role == "silence-alarm" and r.address == "monitors.churn-api-quality"]
    told = [[topics[t["$ref"]] for t in a.inputs["alarmActions"]] for a in alarms]
    assert told == [["data-team", "team0", "team1", "team2", "team3"], ["team4", "team5", "team6"]]
    assert [a.inputs["okActions"] for a in alarms] == [a.inputs["alarmActions"] for a in alarms]
    assert [a.inputs["name"] for a in alarms] == ["churn-quickstart-prod.monitor-silent.churn-api-quality",
                                                  "churn-quickstart-prod.monitor-silent.churn-api-quality.2"]
    first, second = ({k: v for k, v in a.inputs.items() if k not in ("name", "alarmActions", "okActions")}
                     for a in alarms)
    assert first == second  # the same alarm for each five
    for alarm in alarms:
        params = pascal({k: v for k, v in placeholder(alarm.inputs).items() if k not in ("name", "tags")})
        params["AlarmName"] = alarm.inputs["name"]
        params["Dimensions"] = [{"Name": k, "Value": v} for k, v in alarm.inputs["dimensions"].items()]
        assert problems("cloudwatch", "PutMetricAlarm", params) == []
    # the drift monitor's alert notifies data-team only: one alarm
    drift = [r for r in of_type(graph, alerting.ALARM) if r.role == "silence-alarm" and r.address == "monitors.churn-api-drift"]
    assert [[topics[t["$ref"]] for t in a.inputs["alarmActions"]] for a in drift] == [["data-team"]]


def test_moto_takes_the_alarms_with_their_warm_up() -> None:
    from tests.support.moto_server import client, running_moto_server

    alarm = _alarm("1h")
    params = pascal({k: v for k, v in placeholder(alarm).items() if k not in ("name", "tags")})
    params["AlarmName"] = alarm["name"] + ".warm-up-check"
    params["Dimensions"] = [{"Name": k, "Value": v} for k, v in alarm["dimensions"].items()]
    with running_moto_server() as url:
        cloudwatch = client("cloudwatch", url)
        cloudwatch.put_metric_alarm(**params)
        [stored] = cloudwatch.describe_alarms(AlarmNames=[params["AlarmName"]])["MetricAlarms"]
    # moto 5.2.5 takes the call (botocore serialises WarmUpConfiguration) but keeps no warm-up and evaluates nothing
    assert (stored["Period"], stored["EvaluationPeriods"], stored["TreatMissingData"]) == (60, 185, "breaching")
