"""Red-team review 2026-12-03, M6: cron in the dialect of each target, through the console script.

``0 3 ? * 1`` used to become the AWS schedule ``cron(0 3 ? * ? *)`` (both day fields ``?``, which
EventBridge refuses), and ``L``, ``#``, ``5-1`` and ``*/61`` went unchanged into Kubernetes
CronJobs, whose robfig/cron parser refuses them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
SCHEDULE = 'schedule: "0 3 * * 1"'


def _spec(tmp_path: Path, cron: str) -> str:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(edit(REFERENCE, SCHEDULE, f'schedule: "{cron}"'))
    return str(path)


def _resources(spec: str, env: str) -> list[dict]:
    result = run_cli("graph", spec, "--env", env, "--format", "json")
    assert result.code == 0, result.output
    return json.loads(result.stdout)["resources"]


def _aws_crons(spec: str) -> list[str]:
    return sorted(r["inputs"]["scheduleExpression"] for r in _resources(spec, "prod")
                  if r["type"] == "aws:scheduler/schedule:Schedule" and "cron(" in r["inputs"]["scheduleExpression"])


def _cronjob_schedule(spec: str) -> str:
    jobs = [r for r in _resources(spec, "dev") if r["type"] == "kubernetes:batch/v1:CronJob"
            and r["inputs"]["metadata"]["name"].startswith("train-")]
    return jobs[0]["inputs"]["spec"]["schedule"]


def test_m6_question_mark_is_any_and_aws_gets_one_question_mark(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "0 3 ? * 1")
    assert run_cli("validate", spec).code == 0
    assert _aws_crons(spec) == ["cron(0 3 ? * MON *)"]
    assert _cronjob_schedule(spec) == "0 3 * * 1"


def test_m6_sunday_as_7_is_written_0_for_kubernetes(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "0 3 * * 5-7")
    assert _cronjob_schedule(spec) == "0 3 * * 0,5,6"
    assert _aws_crons(spec) == ["cron(0 3 ? * SUN,FRI,SAT *)"]


@pytest.mark.parametrize(("cron", "form"), [("0 3 L * *", "L (last)"), ("0 3 * * 1#2", "# (nth weekday)"),
                                            ("0 3 15W * *", "W (nearest weekday)")])
def test_m6_l_w_and_hash_are_refused_for_kubernetes_and_kept_for_aws(tmp_path: Path, cron: str, form: str) -> None:
    spec = _spec(tmp_path, cron)
    result = run_cli("validate", spec)
    assert result.code == 1
    line = line_of(REFERENCE, SCHEDULE)
    assert f"{spec}:{line}:" in result.stderr
    assert "cannot run on Kubernetes (environment dev)" in result.stderr
    assert form in result.stderr
    assert "cannot run on AWS" not in result.stderr
    assert run_cli("validate", spec, "--env", "prod").code == 0


@pytest.mark.parametrize(("cron", "message"), [
    ("5-1 * * * *", 'The minute range "5-1" runs backwards'),
    ("*/61 * * * *", "is larger than the range it divides (0-59)"),
    ("0 3 30 2 *", "never runs: no day 30 in FEB"),
])
def test_m6_what_no_target_runs_as_written_is_an_error_at_the_schedule(tmp_path: Path, cron: str, message: str) -> None:
    spec = _spec(tmp_path, cron)
    result = run_cli("validate", spec)
    assert result.code == 1
    assert f"{spec}:{line_of(REFERENCE, SCHEDULE)}:" in result.stderr
    assert message in result.stderr


def test_m6_star_step_next_to_a_weekday_is_refused_on_both_targets(tmp_path: Path) -> None:
    result = run_cli("validate", _spec(tmp_path, "0 3 */2 * 1"))
    assert result.code == 1
    for env in ("dev", "staging", "prod"):
        assert f"(environment {env})" in result.stderr
    assert '"both" in crontab(5) but "either" on Kubernetes' in result.stderr
