"""An apply that gives a job a schedule does not start a run of a slot that passed (audit k8strain-3).

A model of the CronJob controller's choice of the slot to start (kubernetes
``pkg/controller/cronjob/utils.go`` ``mostRecentScheduleTime``; "Cron Job Limitations"): the newest slot
after ``earliestTime`` = ``status.lastScheduleTime`` (else ``creationTimestamp``), raised to
``now - startingDeadlineSeconds``, and not after now. No CronJob controller runs here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from croniter import croniter

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system

ROOT = Path(__file__).resolve().parents[3]


def slot_started(cronjob_spec: dict, created: datetime, last_schedule: datetime | None, now: datetime) -> datetime | None:
    earliest = last_schedule or created
    deadline = cronjob_spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=deadline))
    newest = croniter(cronjob_spec["schedule"], now).get_prev(datetime)
    return newest if earliest < newest <= now else None


def launcher(env: str = "dev") -> dict:
    system = load_system(ROOT / "examples" / "fraud-detection" / "mlsystem.yaml", env).system
    graph = compile_system(system, env)
    return next(r.inputs["spec"] for r in graph.resources
                if r.type == "kubernetes:batch/v1:CronJob" and r.inputs["metadata"]["name"] == "train-retrain")


def test_a_schedule_given_to_a_long_suspended_cronjob_does_not_start_a_slot_of_the_last_hour():
    spec = launcher()
    assert spec["suspend"] is False and spec["schedule"] == "0 3 * * 1"
    created = datetime(2026, 6, 1, tzinfo=UTC)  # a manual job's suspended CronJob: no lastScheduleTime
    slot = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # a Monday 03:00
    assert slot_started(spec, created, None, slot + timedelta(minutes=40)) is None
    # the window that remains: an apply within the deadline after a slot starts it (docs 3.3)
    assert spec["startingDeadlineSeconds"] == 300
    assert slot_started(spec, created, None, slot + timedelta(minutes=4)) == slot
    assert slot_started(spec, slot + timedelta(minutes=1), None, slot + timedelta(minutes=4)) is None  # a new CronJob
