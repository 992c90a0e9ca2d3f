"""Cron and rate conversion for EventBridge Scheduler, and the checkers the other tests rely on."""

from __future__ import annotations

import pytest
from croniter import croniter

from mlops_infra.compile.aws.schedules import (
    UnsupportedCron,
    aws_cron_expressions,
    aws_day_of_week,
    cron_problem,
    rate_expression,
)
from tests.compile.aws.api_shapes import problems
from tests.compile.aws.pulumi_schema import check_inputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CRON_CASES = [
    ("0 3 * * 1", ["cron(0 3 ? * MON *)"]),
    ("*/15 * * * *", ["cron(*/15 * * * ? *)"]),
    ("0 0 1 * *", ["cron(0 0 1 * ? *)"]),
    ("0 9 * * 1-5", ["cron(0 9 ? * MON-FRI *)"]),
    ("0 2 * * 0", ["cron(0 2 ? * SUN *)"]),
    ("0 0 * * 7", ["cron(0 0 ? * SUN *)"]),
    ("0 0 * * 0,7", ["cron(0 0 ? * SUN *)"]),
    ("0 0 * * 6-7", ["cron(0 0 ? * SUN,SAT *)"]),
    ("0 0 * * */2", ["cron(0 0 ? * SUN,TUE,THU,SAT *)"]),
    ("0 0 * * 1,2,4", ["cron(0 0 ? * MON,TUE,THU *)"]),
    ("0 0 * * mon-wed", ["cron(0 0 ? * MON-WED *)"]),
    ("30 2 * jan-mar sun", ["cron(30 2 ? JAN-MAR SUN *)"]),
    ("0 0 * * 5#3", ["cron(0 0 ? * 6#3 *)"]),
    ("0 0 * * L5", ["cron(0 0 ? * 6L *)"]),
    ("0 0 * * fri#3", ["cron(0 0 ? * 6#3 *)"]),
    ("0 0 * * sat-sun", ["cron(0 0 ? * SUN,SAT *)"]),
    ("0 0 * * 1-5/2", ["cron(0 0 ? * MON,WED,FRI *)"]),
    ("0 0 L * *", ["cron(0 0 L * ? *)"]),
    ("0 0 */2 * *", ["cron(0 0 */2 * ? *)"]),
    ("0 12 1-7 */3 *", ["cron(0 12 1-7 */3 ? *)"]),
    # standard cron fires when either day field matches: two AWS schedules
    ("0 0 1 * 1", ["cron(0 0 1 * ? *)", "cron(0 0 ? * MON *)"]),
]


@pytest.mark.parametrize(("cron", "expected"), CRON_CASES, ids=[c for c, _ in CRON_CASES])
def test_cron_conversion(cron, expected):
    assert croniter.is_valid(cron)
    assert aws_cron_expressions(cron) == expected


def test_weekday_names_agree_with_croniter_for_every_single_day():
    names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    from datetime import datetime

    for day in range(7):
        next_run = croniter(f"0 0 * * {day}", datetime(2026, 11, 1)).get_next(datetime)  # 2026-11-01 is a Sunday
        assert aws_day_of_week(str(day)) == names[next_run.isoweekday() % 7]


@pytest.mark.parametrize("cron", ["0 0 */2 * 1", "0 0 1 * */2"])
def test_and_semantics_cannot_be_expressed(cron):
    assert cron_problem(cron)
    with pytest.raises(UnsupportedCron):
        aws_cron_expressions(cron)


@pytest.mark.parametrize(("seconds", "expected"), [
    (60, "rate(1 minute)"), (30, "rate(1 minute)"), (90, "rate(2 minutes)"), (3600, "rate(1 hour)"),
    (7200, "rate(2 hours)"), (5400, "rate(90 minutes)"), (21600, "rate(6 hours)"), (86400, "rate(1 day)"),
    (604800, "rate(7 days)"),
])
def test_rate_expression(seconds, expected):
    assert rate_expression(seconds) == expected


def test_the_api_shape_checker_catches_what_botocore_leaves_out():
    config = {"EndpointConfigName": "x", "ProductionVariants": [
        {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.g5.huge", "InitialInstanceCount": 1}]}
    assert any("ml.g5.huge" in p for p in problems("sagemaker", "CreateEndpointConfig", config))
    update = {"EndpointName": "e", "EndpointConfigName": "c", "DeploymentConfig": {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 7200}}}}
    assert any("7200 > 3600" in p for p in problems("sagemaker", "UpdateEndpoint", update))
    assert problems("sagemaker", "CreateEndpoint", {"EndpointName": "e"})  # missing EndpointConfigName


def test_the_pulumi_input_checker_catches_misspelled_nested_names():
    inputs = {"name": "c", "productionVariants": [{"variantName": "v", "modelName": "m", "instanceTyp": "x"}]}
    found = check_inputs("aws:sagemaker/endpointConfiguration:EndpointConfiguration", inputs)
    assert any("instanceTyp" in p for p in found)
    assert any("bucket: required" in p for p in check_inputs("aws:s3/bucketPolicy:BucketPolicy", {"policy": "{}"}))
    assert check_inputs("aws:s3/bucket:Bucket", {"bucketName": "x"}) == [
        "aws:s3/bucket:Bucket.bucketName: not an input of BucketArgs"]


def test_a_two_expression_schedule_and_a_job_named_like_its_second_are_created_apart() -> None:
    """Finding collisions-3: a cron AWS needs two expressions for gives a job two schedules; with a
    ``-1``/``-2`` suffix the first was named as the schedule of a job ``<job>-1``, and
    ``CreateSchedule`` refused the second (``ConflictException``). Every compiled schedule is created
    on moto, in graph order, in one group."""
    from pathlib import Path

    import yaml

    from mlops_infra.compile import compile_system
    from mlops_infra.spec import parse_system
    from tests.support.moto_server import client, running_moto_server

    document = yaml.safe_load((Path(__file__).resolve().parents[3] / "examples" / "fraud-detection"
                               / "mlsystem.yaml").read_text())
    job = document["training_jobs"][0]
    job["triggers"]["schedule"] = "0 3 1 * 1"  # the 1st of the month and every Monday: two AWS expressions
    document["training_jobs"].append({**job, "name": f"{job['name']}-1", "triggers": {"schedule": "0 5 * * *"}})
    loaded = parse_system(yaml.safe_dump(document), "sched.yaml", "prod")
    assert loaded.ok, [d.message for d in loaded.diagnostics if d.is_error]
    schedules = [r.inputs for r in compile_system(loaded.system, "prod").resources
                 if r.type == "aws:scheduler/schedule:Schedule"]
    names = [s["name"] for s in schedules]
    assert len(set(names)) == len(names), names
    assert {"fraud-detection-prod-train-retrain.1", "fraud-detection-prod-train-retrain.2",
            "fraud-detection-prod-train-retrain-1"} <= set(names)
    with running_moto_server() as url:
        scheduler = client("scheduler", url)
        for schedule in schedules:
            scheduler.create_schedule(Name=schedule["name"], ScheduleExpression=schedule["scheduleExpression"],
                                      FlexibleTimeWindow={"Mode": "OFF"},
                                      Target={"Arn": "arn:aws:lambda:eu-west-1:222222222222:function:gate",
                                              "RoleArn": "arn:aws:iam::222222222222:role/scheduler"})
        assert sorted(s["Name"] for s in scheduler.list_schedules()["Schedules"]
                      if s["Name"].startswith("fraud-detection-prod-")) == sorted(names)
