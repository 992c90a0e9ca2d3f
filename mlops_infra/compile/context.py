"""What every compiler function needs: the effective system, its environment and naming.

Contract: a :class:`CompileContext` is immutable apart from its :class:`GraphBuilder`; names and
tags derived here are the same for every target so the planner and live scanner can rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_infra.compile.naming import physical_name
from mlops_infra.graph import GraphBuilder
from mlops_infra.model_versions import (
    ASSUME_AVAILABLE,
    AWS_CREATES,
    Decision,
    RegistryView,
    deploys_approved_only,
    serves_approved_only,
)
from mlops_infra.spec.environments import AwsTarget, Environment, KubernetesTarget
from mlops_infra.spec.system import MLSystem

COMPONENT_TYPES = {
    "data_sources": "mlops:data:ObjectStore",
    "clusters": "mlops:compute:GpuCluster",
    "training_jobs": "mlops:training:Job",
    "models": "mlops:registry:Model",
    "endpoints": "mlops:serving:Endpoint",
    "monitors": "mlops:monitoring:Monitor",
    "alerts": "mlops:alerting:Alert",
    "channels": "mlops:alerting:Channel",
}
"""One component type per ML section, so `pulumi stack` shows the system as a tree."""

PLATFORM_TYPE = "mlops:core:Platform"
"""The component holding what items share (KMS key, roles, namespace, registry service)."""


@dataclass
class CompileContext:
    """The effective system of one environment, being compiled into ``builder``."""

    system: MLSystem
    env: str
    environment: Environment
    project: str
    stack: str
    builder: GraphBuilder
    registry: RegistryView = ASSUME_AVAILABLE
    """What the environment's model registry holds (which pinned versions can be served)."""
    _tags: dict[tuple, dict[str, str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _decisions: dict[tuple[str, str, int], Decision] = field(default_factory=dict, init=False, repr=False,
                                                            compare=False)
    _silent: dict[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def target(self) -> AwsTarget | KubernetesTarget:
        return self.environment.target

    def name(self, *parts: str, max_len: int = 63) -> str:
        """A physical name ``<system>-<env>-<parts>`` (lowercase, hashed when too long)."""
        return physical_name(self.system.metadata.name, self.env, *parts, max_len=max_len)

    def tags(self, **extra: str) -> dict[str, str]:
        """Tags/labels put on every resource: the system's labels plus who manages it (a new dict
        each call; the sorted result is made once per ``extra``: items ask for theirs several times)."""
        key = tuple(extra.items())
        made = self._tags.get(key)
        if made is None:
            tags = {**self.system.metadata.labels, "mlops-infra/system": self.system.metadata.name,
                    "mlops-infra/environment": self.env, "managed-by": "mlops-infra"}
            tags.update(extra)
            made = self._tags[key] = dict(sorted(tags.items()))
        return dict(made)

    def version_decision(self, endpoint: Any, creates: str = AWS_CREATES) -> Decision:
        """What the registry lets ``endpoint`` serve (:meth:`RegistryView.decide`; approved versions only
        where :func:`~mlops_infra.model_versions.serves_approved_only`, the same rule on both targets, and
        always on AWS: :func:`~mlops_infra.model_versions.deploys_approved_only`, audit registry-2);
        ``creates`` names what a waiting endpoint's next apply creates on this one. Decided once per
        endpoint, model and version (asked again by an endpoint's alarms and dashboard: the view and the
        system are immutable, so the decision is the same), and recorded in ``graph.model_versions`` when
        the compiler was given a view."""
        key = (endpoint.name, endpoint.model.name, endpoint.model.version)
        decision = self._decisions.get(key)
        if decision is None:
            gated = serves_approved_only(self.system, self.env, endpoint.model.name)
            decision = self._decisions[key] = self.registry.decide(
                endpoint.name, endpoint.model.name, endpoint.model.version, gated=gated,
                sagemaker=deploys_approved_only(self.system, self.env), creates=creates)
        if self.registry is not ASSUME_AVAILABLE:
            self.builder.model_versions[f"endpoints.{endpoint.name}"] = decision.to_json()
        return decision

    def silent_channels(self) -> dict[str, list[str]]:
        """Monitor name -> the channels told when it stops measuring, for each monitor that has such an
        alert (:func:`mlops_infra.compile.monitor_silence.silent_monitors`, in spec order), made once
        per compile: every monitor and every channel's route asks (made per ask, it was quadratic in
        the monitors: 1,000 drift monitors took minutes)."""
        if self._silent is None:
            from mlops_infra.compile.monitor_silence import silent_monitors

            self._silent = {monitor.name: channels for monitor, channels in silent_monitors(self.system)}
        return self._silent

    def component(self, section: str, name: str, facts: dict[str, Any]) -> str:
        """Add the component of item ``section.name`` with its ML facts; return its URN. Facts
        (:mod:`mlops_infra.compile.facts`) are the spec's values, never refs: they are not searched."""
        return self.builder.add(COMPONENT_TYPES[section], name, facts, custom=False,
                                address=f"{section}.{name}", role="component", refs_in=())
