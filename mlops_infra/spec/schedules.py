"""Schedules a target cannot run: checked per environment on its effective system.

Contract: a training schedule the environment's target cannot run is an error at
``triggers.schedule``, before the compiler meets it: on AWS what EventBridge Scheduler cannot
express (:func:`~mlops_infra.spec.cron.aws_problem`), on Kubernetes what a CronJob's standard cron
cannot (:func:`~mlops_infra.spec.cron.kubernetes_problem`). What a target can run in another
spelling (``?``, Sunday as 7, weekday steps on AWS) is converted by the compilers instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.cron import CronExpression, aws_problem, kubernetes_problem
from mlops_infra.spec.environments import Environment

PROBLEMS: dict[str, tuple[str, Callable[[CronExpression], str | None]]] = {
    "aws": ("AWS", aws_problem),
    "kubernetes": ("Kubernetes", kubernetes_problem),
}
"""Target kind -> (its name in messages, what it cannot run)."""


def check_schedules_supported(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Error for each training schedule the environment's target cannot run."""
    target, problem_of = PROBLEMS[environment.target.kind]
    for i, job in enumerate(ctx.system.training_jobs):
        schedule = job.triggers.schedule
        problem = problem_of(schedule.expression) if schedule else None
        if problem:
            yield error("unsupported-schedule",
                        f'Schedule "{schedule}" of training job "{job.name}" cannot run on {target} (environment {env})',
                        f"{problem[:1].upper()}{problem[1:]}.",
                        ("training_jobs", i, "triggers", "schedule"), f"training_jobs.{job.name}")
