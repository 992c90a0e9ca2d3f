"""Semantic checks on a structurally valid system (references, uniqueness, catalog facts, ...).

Contract: ``check_system(system, data)`` returns diagnostics with raw-document paths (indexes into
``data``'s lists); it never raises for user mistakes and never mutates its inputs.
``check_environment(system, data, env)`` runs the checks that depend on one environment (its
target, region and gates) on that environment's effective system.

Each concern lives in its own module; this module only lists them. Every check is linear in the
size of the document (names are looked up in :class:`~mlops_infra.spec.context.CheckContext`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mlops_infra.diagnostics import Diagnostic
from mlops_infra.spec.alarm_periods import check_alert_for
from mlops_infra.spec.artifacts import check_serving_artifacts
from mlops_infra.spec.artifacts_region import check_artifacts_regions
from mlops_infra.spec.autoscaling_metrics import check_gpu_metric_needs_a_gpu, check_scale_to_zero
from mlops_infra.spec.aws_lists import check_aws_lists
from mlops_infra.spec.aws_values import check_aws_values
from mlops_infra.spec.containers import check_containers, check_image_pins
from mlops_infra.spec.context import NOTHING_ELSEWHERE, CheckContext, KnownElsewhere
from mlops_infra.spec.cost import check_cluster_budgets
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.fit import check_model_artifacts, check_serving_fit, check_training_fit
from mlops_infra.spec.guardrails import check_production_derived
from mlops_infra.spec.hardware import check_hardware, check_training_nodes
from mlops_infra.spec.image_accounts import check_image_accounts
from mlops_infra.spec.labels import check_aws_tags, check_kubernetes_labels
from mlops_infra.spec.lambda_failures import check_lambda_failures
from mlops_infra.spec.latency_buckets import check_latency_buckets
from mlops_infra.spec.min_requests import check_min_requests
from mlops_infra.spec.monitor_silence_limits import check_silence_schedules
from mlops_infra.spec.names import check_kubernetes_names, check_system_name
from mlops_infra.spec.processes import check_processes_per_node
from mlops_infra.spec.promotion import check_gates, check_promotion
from mlops_infra.spec.references import check_references, check_unique_names
from mlops_infra.spec.regions import check_regions
from mlops_infra.spec.replicas import check_replicas_without_autoscaling
from mlops_infra.spec.rolling_batch import check_rolling_batch
from mlops_infra.spec.rollout_bake import check_rollout_bake
from mlops_infra.spec.rollout_switch import check_rollout_switch
from mlops_infra.spec.scaling_counts import check_scaling_counts
from mlops_infra.spec.schedules import check_schedules_supported
from mlops_infra.spec.shared_targets import check_shared_targets
from mlops_infra.spec.signals import (
    check_alert_channels,
    check_monitor_inputs,
    check_rollback_alerts,
    check_shared_slack_webhooks,
    check_thresholds,
)
from mlops_infra.spec.system import MLSystem
from mlops_infra.spec.training_failures import check_training_failures

SystemCheck = Callable[[CheckContext], Iterable[Diagnostic]]
EnvironmentCheck = Callable[[CheckContext, str, Environment], Iterable[Diagnostic]]

SYSTEM_CHECKS: tuple[SystemCheck, ...] = (
    check_unique_names,
    check_references,
    check_hardware,
    check_training_nodes,
    check_monitor_inputs,
    check_thresholds,
    check_rollback_alerts,
    check_alert_channels,
    check_shared_slack_webhooks,
    check_replicas_without_autoscaling,
    check_gpu_metric_needs_a_gpu,
    check_system_name,
    check_model_artifacts,
    check_serving_fit,
    check_training_fit,
    check_processes_per_node,
    check_image_pins,
    check_training_failures,
)
"""Checks of the system as a whole (run on the base and on each effective system). Plaintext
secrets are checked once on the raw document instead (:mod:`mlops_infra.spec.secrets`)."""

BASE_CHECKS: tuple[SystemCheck, ...] = (check_promotion, check_shared_targets, check_production_derived,
                                        check_artifacts_regions, check_regions)
"""Checks of what overrides cannot change (``environments``): run on the base system only, so that
N environments cost N linear checks, not N checks of all N environments."""

ENVIRONMENT_CHECKS: tuple[EnvironmentCheck, ...] = (
    check_gates,
    check_cluster_budgets,
    check_schedules_supported,
    check_containers,
    check_image_accounts,
    check_kubernetes_names,
    check_aws_tags,
    check_kubernetes_labels,
    check_serving_artifacts,
    check_aws_lists,
    check_aws_values,
    check_latency_buckets,
    check_lambda_failures,
    check_rollout_bake,
    check_rollout_switch,
    check_rolling_batch,
    check_scale_to_zero,
    check_scaling_counts,
    check_min_requests,
    check_silence_schedules,
    check_alert_for,
)
"""Checks that need one environment's target or gates (run on that environment's effective system)."""


def check_system(system: MLSystem, data: dict[str, Any], env: str | None = None,
                 known_elsewhere: KnownElsewhere = NOTHING_ELSEWHERE, source_dir: Path | None = None) -> list[Diagnostic]:
    """All semantic diagnostics of ``system`` (see the module docstring).

    ``data`` is the raw document ``system`` was validated from: diagnostic paths index into it.
    ``env`` names the environment whose effective system this is (it only changes wording and
    severities that depend on whether a problem comes from overrides), or None for the base.
    ``known_elsewhere`` lists the items of the raw document left out of ``system`` (and of
    ``data``, then a pruned copy) because they are invalid: partial checks of an invalid document.
    ``source_dir`` is the document's folder (relative artifact paths resolve there).
    """
    ctx = CheckContext.build(system, env, known_elsewhere, source_dir)
    checks = SYSTEM_CHECKS if env is not None else SYSTEM_CHECKS + BASE_CHECKS
    return [d for check in checks for d in check(ctx)]


def check_environment(system: MLSystem, data: dict[str, Any], env: str,
                      known_elsewhere: KnownElsewhere = NOTHING_ELSEWHERE, source_dir: Path | None = None) -> list[Diagnostic]:
    """Diagnostics of environment ``env`` of its effective ``system``."""
    ctx = CheckContext.build(system, env, known_elsewhere, source_dir)
    environment = system.environments[env]
    return [d for check in ENVIRONMENT_CHECKS for d in check(ctx, env, environment)]
