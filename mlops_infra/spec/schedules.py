"""Schedules that a target cannot run: checked per environment on its effective system.

Contract: an AWS environment refuses a training schedule that EventBridge Scheduler cannot express
(:func:`~mlops_infra.spec.quantities.aws_cron_problem`), as an error at ``triggers.schedule``,
before the compiler would meet it. Kubernetes CronJobs take any five-field cron.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import AwsTarget, Environment
from mlops_infra.spec.quantities import aws_cron_problem


def check_schedules_supported(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Error for each training schedule the environment's target cannot run."""
    if not isinstance(environment.target, AwsTarget):
        return
    for i, job in enumerate(ctx.system.training_jobs):
        schedule = job.triggers.schedule
        problem = aws_cron_problem(str(schedule)) if schedule else None
        if problem:
            yield error("unsupported-schedule",
                        f'Schedule "{schedule}" of training job "{job.name}" cannot run on AWS (environment {env})',
                        f"{problem[:1].upper()}{problem[1:]}.",
                        ("training_jobs", i, "triggers", "schedule"), f"training_jobs.{job.name}")
