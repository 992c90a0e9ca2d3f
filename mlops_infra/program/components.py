"""Pulumi components, one per ML concept, all following one template.

Template (architecture, style point 5): a class per concept with its type token (``TYPE``); the ML
facts of the desired graph as the component's props (so they are in state as its inputs); children
parented with :meth:`MlComponent.child_options` (``parent=self``) and explicit providers;
:meth:`MlComponent.finish` calls ``register_outputs`` last, once every child is registered.

Contract: :func:`component_class` returns the named class of a type token; a token the compiler
emits that has no named class yet falls back to :class:`MlComponent` with that token, so the
program never registers a different type than the graph says.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi


class MlComponent(pulumi.ComponentResource):
    """A component holding one ML item's resources; ``facts`` are its props and outputs."""

    TYPE: ClassVar[str] = "mlops:core:Component"

    def __init__(self, name: str, facts: dict[str, Any], opts: pulumi.ResourceOptions | None = None,
                 *, type_: str | None = None) -> None:
        super().__init__(type_ or self.TYPE, name, props=dict(facts), opts=opts)
        self._mlops_facts = dict(facts)

    def child_options(self, **options: Any) -> pulumi.ResourceOptions:
        """Resource options for a child: ``parent=self`` plus ``options``."""
        return pulumi.ResourceOptions(parent=self, **options)

    def finish(self) -> None:
        """Register the component's outputs (its facts); call once, after its last child."""
        self.register_outputs(self._mlops_facts)


class Platform(MlComponent):
    """What the items of one environment share: KMS key, roles, namespace, registry service."""

    TYPE = "mlops:core:Platform"


class ObjectStore(MlComponent):
    """A data source: an encrypted, versioned bucket with retention."""

    TYPE = "mlops:data:ObjectStore"


class GpuCluster(MlComponent):
    """GPU training capacity: a node group or a queue of GPU nodes."""

    TYPE = "mlops:compute:GpuCluster"


class TrainingJob(MlComponent):
    """A training job, its schedule and triggers."""

    TYPE = "mlops:training:Job"


class Model(MlComponent):
    """A registry model (package group) and its approval workflow."""

    TYPE = "mlops:registry:Model"


class Endpoint(MlComponent):
    """An inference endpoint: model, config, endpoint, autoscaling, capture."""

    TYPE = "mlops:serving:Endpoint"


class Monitor(MlComponent):
    """A monitor on an endpoint: a scheduled job or metric plus its alarm source."""

    TYPE = "mlops:monitoring:Monitor"


class Alert(MlComponent):
    """An alert on a monitor: alarm or alerting rule with its routing."""

    TYPE = "mlops:alerting:Alert"


class Channel(MlComponent):
    """A notification channel: topic, subscription or receiver."""

    TYPE = "mlops:alerting:Channel"


COMPONENTS: dict[str, type[MlComponent]] = {
    cls.TYPE: cls
    for cls in (Platform, ObjectStore, GpuCluster, TrainingJob, Model, Endpoint, Monitor, Alert, Channel)
}
"""Type token -> named component class."""


def component_class(type_: str) -> type[MlComponent]:
    """The named component class of ``type_`` (see the module contract for unknown tokens)."""
    return COMPONENTS.get(type_, MlComponent)
