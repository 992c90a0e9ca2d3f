"""Inference endpoints and their progressive rollouts."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from mlops_infra.spec.base import Accelerator, Name, Range, SpecModel, empty_list
from mlops_infra.spec.limits import INT32_MAX, MAX_UTILIZATION_PERCENT
from mlops_infra.spec.quantities import Duration, DurationField


class ModelRef(SpecModel):
    """A pinned model version from the registry."""

    name: Name = Field(description="Model name (from models).")
    version: int = Field(ge=1, le=INT32_MAX, description="Pinned version number.")


UTILIZATION_METRICS = frozenset({"cpu_utilization", "gpu_utilization"})


class Autoscaling(SpecModel):
    """Target tracking on one metric."""

    metric: Literal["invocations_per_replica", "cpu_utilization", "gpu_utilization", "concurrency"] = Field(
        description="Metric tracked: invocations_per_replica (per minute), cpu_utilization, gpu_utilization (percent) or concurrency."
    )
    target: float = Field(gt=0, le=INT32_MAX, description="Target value of the metric per replica.")

    @model_validator(mode="after")
    def _percent(self) -> Autoscaling:
        if self.metric in UTILIZATION_METRICS and self.target > MAX_UTILIZATION_PERCENT:
            raise ValueError(f"the target of {self.metric} is a percent of one core or GPU, so it is at most "
                             f"{MAX_UTILIZATION_PERCENT}, not {self.target:g}; for example target: 70")
        return self


NOT_READY_TIMEOUT_SECONDS = 1800
"""Kubernetes: the default ``rollout.not_ready_timeout`` (30m); the rollout controller's own default is
the same (``rollout/model.py`` ``DEFAULT_NOT_READY_TIMEOUT``, which says why 30 minutes)."""
MIN_NOT_READY_TIMEOUT_SECONDS = 600
"""``rollout.not_ready_timeout`` is at least Knative's default progress deadline (config-deployment
``progress-deadline``, 600 s: knative/serving ``pkg/deployment/config.go`` ``ProgressDeadlineDefault``):
before it, Knative itself is still waiting for the revision's pods, and a shorter timeout would roll
back a revision Knative may yet make ready."""
CONTROLLER_STRATEGIES = frozenset({"canary", "blue_green"})
"""Strategies the mlops-infra rollout controller drives on Kubernetes (``compile/kubernetes/serving.py``
``rollout_plan``)."""


SAGEMAKER_ROLLED_BACK = frozenset({"all_at_once", "blue_green", "rolling"})
"""Rollout strategies SageMaker rolls back by itself on AWS: the endpoint's ``deploymentConfig`` carries
the alarms of ``rollback_on`` (``compile/aws/serving.py``, every strategy but ``canary``, whose rollout
the mlops-infra controller drives and whose alarms it reads itself, review finding B9)."""


STEP_PERCENT_MIN, STEP_PERCENT_MAX = 1, 100
"""A rollout step is a percent: of traffic for canary, of capacity for rolling's batch."""

_STEPS_SCHEMA = {
    "allOf": [
        {"if": {"properties": {"strategy": {"const": "canary"}}, "required": ["strategy"]},
         "then": {"required": ["steps"], "properties": {"steps": {"minItems": 1}}}},
        {"if": {"properties": {"strategy": {"enum": ["blue_green", "all_at_once"]}}, "required": ["strategy"]},
         "then": {"properties": {"steps": {"maxItems": 0}}}},
    ],
}
"""What the schema can say of :meth:`Rollout._steps` and ``_canary_has_steps`` (JSON Schema 2020-12 Core
``if``/``then``/``allOf``; yaml-language-server applies them, draft-07 and later): a canary has at
least one step, blue_green and all_at_once none. Order and the final 100 are left to ``validate``."""


class Rollout(SpecModel):
    """How a new model version reaches traffic."""

    model_config = ConfigDict(json_schema_extra=_STEPS_SCHEMA)

    strategy: Literal["canary", "blue_green", "rolling", "all_at_once"] = Field(
        description="canary (traffic steps), blue_green (full copy, then switch), rolling (batches) or all_at_once."
    )
    steps: list[int] = Field(
        default_factory=empty_list,
        description="Canary: percent of traffic on the new version at each step (1-100), strictly increasing, ending "
                    "at 100. Rolling: the first is the batch size, a percent of capacity (1-100; SageMaker takes "
                    "5-50).",
        json_schema_extra={"items": {"type": "integer", "minimum": STEP_PERCENT_MIN, "maximum": STEP_PERCENT_MAX}},
    )
    bake: DurationField | None = Field(default=None, examples=["10m", "30m"],
                                       description="Time at each step before the next (10m).")
    rollback_on: list[Name] = Field(default_factory=empty_list, description="Alerts that roll the rollout back.")
    not_ready_timeout: DurationField | None = Field(
        examples=["30m", "1h"],
        default=None,
        description="Kubernetes only (canary, blue_green): how long the new version's Knative revision may stay "
                    "not ready (still deploying) before the rollout rolls back (default 30m, at least 10m). A "
                    "revision Knative marks failed rolls back at once. Ignored on AWS.",
    )

    min_requests_per_step: int | None = Field(
        default=None, ge=0, le=INT32_MAX,
        description="canary (and blue_green on Kubernetes) with rollback_on: how many requests the new version must "
                    "serve in each step before the step can end (default 1). A step under it waits after its bake, "
                    "then rolls back (a step without requests is no evidence); 0: no minimum. Not enforced without "
                    "rollback_on, nor with SageMaker's blue_green on AWS (validate warns).",
    )

    @field_validator("min_requests_per_step")
    @classmethod
    def _min_requests(cls, minimum: int | None, info: ValidationInfo) -> int | None:
        """Only the rollouts the mlops-infra controller drives count requests (``rollout/reconcile.py``
        rule 10): canary on both targets, blue_green on Kubernetes."""
        strategy = info.data.get("strategy")
        if minimum is not None and strategy is not None and strategy not in CONTROLLER_STRATEGIES:
            raise ValueError(f"only canary and blue_green rollouts count requests per step, not {strategy}; "
                             "remove min_requests_per_step")
        return minimum

    @field_validator("not_ready_timeout")
    @classmethod
    def _not_ready_timeout(cls, timeout: Duration | None, info: ValidationInfo) -> Duration | None:
        if timeout is None:
            return None
        strategy = info.data.get("strategy")
        if strategy is not None and strategy not in CONTROLLER_STRATEGIES:
            raise ValueError(f"only canary and blue_green rollouts have a not-ready timeout, not {strategy}; "
                             "remove not_ready_timeout")
        if timeout.seconds < MIN_NOT_READY_TIMEOUT_SECONDS:
            raise ValueError(f"a not-ready timeout must be at least 10m (Knative's default progress deadline: until "
                             f"then Knative is still starting the revision), not {timeout}; for example 30m")
        return timeout

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: list[int], info: ValidationInfo) -> list[int]:
        strategy = info.data.get("strategy")
        if strategy is None:
            return steps  # the strategy itself is invalid and reported
        if strategy == "canary":
            _check_canary_steps(steps)
        elif strategy == "rolling":
            _check_percentages(steps, "rolling steps (the first is the batch size, a percent of capacity)",
                               "for example steps: [25]")
        elif steps:
            raise ValueError(f"steps apply to canary and rolling rollouts, not {strategy}; remove steps")
        return steps

    @model_validator(mode="after")
    def _canary_has_steps(self) -> Rollout:
        if self.strategy == "canary" and not self.steps:
            raise ValueError("a canary rollout needs steps, for example steps: [5, 25, 100]")
        return self


def _check_percentages(steps: list[int], what: str, example: str) -> None:
    """Every step is a percent, :data:`STEP_PERCENT_MIN`..:data:`STEP_PERCENT_MAX` (docs/spec.md "each 1..100")."""
    bad = [s for s in steps if not STEP_PERCENT_MIN <= s <= STEP_PERCENT_MAX]
    if bad:
        raise ValueError(f"{what} must be percentages from {STEP_PERCENT_MIN} to {STEP_PERCENT_MAX}; {bad[0]} is not; "
                         f"{example}")


def _check_canary_steps(steps: list[int]) -> None:
    """Canary steps are percentages 1..100, strictly increasing, ending at 100."""
    _check_percentages(steps, "canary steps", "for example steps: [5, 25, 100]")
    for before, after in pairwise(steps):
        if after <= before:
            raise ValueError(f"canary steps must increase strictly; {after} follows {before}")
    if steps and steps[-1] != 100:
        raise ValueError(f"canary steps must end at 100 (all traffic), the last is {steps[-1]}; append 100")


class Capture(SpecModel):
    """Request/response capture, needed by drift and quality monitors."""

    sample_percent: int = Field(ge=1, le=100, description="Percent of requests captured (1-100).")


class Endpoint(SpecModel):
    """An inference endpoint serving a pinned model version."""

    name: Name = Field(description="Unique name of the endpoint.")
    model: ModelRef = Field(description="The model and pinned version served.")
    accelerator: Accelerator | None = Field(default=None, description="GPUs per replica, e.g. {type: A10G, count: 1}.")
    instance_type: str | None = Field(default=None, description="An explicit instance type instead of accelerator.")
    replicas: Range = Field(description="Replica count range; autoscaling moves within it.")
    autoscaling: Autoscaling | None = Field(default=None, description="Target-tracking autoscaling.")
    rollout: Rollout = Field(
        default_factory=lambda: Rollout(strategy="all_at_once"), description="How new versions are rolled out."
    )
    capture: Capture | None = Field(default=None, description="Request/response capture.")
    exposure: Literal["cluster", "public"] = Field(
        default="cluster",
        description="Kubernetes only: who can call the endpoint. cluster (default): only pods of the cluster, at "
                    "its cluster-local address; public: also through the cluster's external ingress gateway, "
                    "with no authentication unless you add it (an Istio AuthorizationPolicy). Ignored on AWS, "
                    "where a caller needs IAM permission to invoke the endpoint.")
    tensor_parallel: bool = Field(
        default=False, description="The serving runtime shards the model over the replica's GPUs (vLLM, TGI, LMI "
                                   "tensor parallelism): the memory check sums their memory instead of one GPU's.")

    @model_validator(mode="after")
    def _one_shape(self) -> Endpoint:
        if self.accelerator is not None and self.instance_type is not None:
            raise ValueError("give accelerator or instance_type, not both")
        return self
