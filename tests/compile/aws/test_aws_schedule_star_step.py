"""A day field that restricts nothing (``*/1``, ``?/1``) next to a restricted one (audit triggers-1).

crontab(5) treats a day field starting with ``*`` as unrestricted, and robfig/cron, which runs the
Kubernetes CronJob, keeps that field's star for a step of 1 (``parser.go`` ``getRange``: ``extra =
starBit``, cleared only ``if step > 1``), so ``spec.go`` ``dayMatches`` requires both day fields:
``0 3 1 * */1`` runs on the 1st only, ``0 3 */1 * MON`` on Mondays only. On 553b227 the AWS schedule of
each was two expressions, one of them daily, and the plan priced both at ~30.42 runs a month (croniter
reads ``*/1`` as a restriction and so "either")."""

from __future__ import annotations

import pytest

from mlops_infra.compile.aws.schedules import aws_cron_expressions
from mlops_infra.plan.cost import scheduled_runs
from mlops_infra.spec.cron import kubernetes_schedule, parse_cron_expression

CASES = [
    ("0 3 1 * */1", "cron(0 3 1 * ? *)", "0 3 1 * *", "0 3 1 * *"),
    ("0 3 1 * ?/1", "cron(0 3 1 * ? *)", "0 3 1 * *", "0 3 1 * *"),
    ("0 3 */1 * MON", "cron(0 3 ? * MON *)", "0 3 * * MON", "0 3 * * MON"),
    ("0 3 ?/1 * 1", "cron(0 3 ? * MON *)", "0 3 * * 1", "0 3 * * 1"),
    ("0 3 */1 * */1", "cron(0 3 * * ? *)", "0 3 * * *", "0 3 * * *"),
    # a list holding * or */1 selects every value and keeps robfig's star too (audit closing-34a-2)
    ("0 3 1 * *,MON", "cron(0 3 1 * ? *)", "0 3 1 * *", "0 3 1 * *"),
    ("0 3 1 * MON,*/1", "cron(0 3 1 * ? *)", "0 3 1 * *", "0 3 1 * *"),
    ("0 3 *,5 * MON", "cron(0 3 ? * MON *)", "0 3 * * MON", "0 3 * * MON"),
    ("0 3 */1,5 * 1-5", "cron(0 3 ? * MON-FRI *)", "0 3 * * 1-5", "0 3 * * 1-5"),
]


@pytest.mark.parametrize(("cron", "aws", "kubernetes", "same_as"), CASES)
def test_an_unrestricted_day_field_is_any_on_every_target_and_in_the_price(cron, aws, kubernetes, same_as):
    assert aws_cron_expressions(cron) == [aws]
    assert kubernetes_schedule(parse_cron_expression(cron)) == kubernetes
    assert scheduled_runs(cron) == scheduled_runs(same_as)


def test_the_audit_s_counts():
    assert scheduled_runs("0 3 1 * */1") == 1.0
    assert scheduled_runs("0 3 */1 * MON") == scheduled_runs("0 3 * * 1") < 5


def test_a_step_above_one_is_still_a_restriction_and_two_restricted_fields_still_mean_either():
    assert aws_cron_expressions("0 3 1 * 1") == ["cron(0 3 1 * ? *)", "cron(0 3 ? * MON *)"]
    assert aws_cron_expressions("0 3 1,15 * MON,FRI") == ["cron(0 3 1,15 * ? *)", "cron(0 3 ? * MON,FRI *)"]
    assert kubernetes_schedule(parse_cron_expression("0 3 * * */2")) == "0 3 * * */2"
