"""The MLSystem document: the root model."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import Field

from mlops_infra.spec.alerting import Alert, Channel
from mlops_infra.spec.base import Name, SpecModel, empty_dict, empty_list
from mlops_infra.spec.compute import Cluster
from mlops_infra.spec.data import DataSource
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.monitoring import Monitor
from mlops_infra.spec.registry import Model
from mlops_infra.spec.serving import Endpoint
from mlops_infra.spec.training import TrainingJob

API_VERSION = "mlops-infra/v1"
SECTIONS = ("data_sources", "clusters", "training_jobs", "models", "endpoints", "monitors", "alerts", "channels")
"""Sections holding named items, in dependency order."""


class Metadata(SpecModel):
    """Who owns the system and how it is labelled."""

    name: Name = Field(description="System name; the Pulumi project name and a prefix of physical names.")
    owner: str | None = Field(default=None, description="Owning team or address.")
    description: str | None = Field(default=None, description="What the system does.")
    labels: dict[str, str] = Field(default_factory=empty_dict, description="Labels copied onto every resource as tags.")


class MLSystem(SpecModel):
    """A whole ML system: data, training, registry, serving, monitoring, alerting and environments."""

    api_version: Literal["mlops-infra/v1"] = Field(alias="apiVersion", description="Always mlops-infra/v1.")
    kind: Literal["MLSystem"] = Field(description="Always MLSystem.")
    metadata: Metadata = Field(description="Name, owner and labels.")
    data_sources: list[DataSource] = Field(default_factory=empty_list, description="Where training data lives.")
    clusters: list[Cluster] = Field(default_factory=empty_list, description="GPU training capacity.")
    training_jobs: list[TrainingJob] = Field(default_factory=empty_list, description="Training jobs and their triggers.")
    models: list[Model] = Field(default_factory=empty_list, description="The model registry.")
    endpoints: list[Endpoint] = Field(default_factory=empty_list, description="Inference endpoints.")
    monitors: list[Monitor] = Field(default_factory=empty_list, description="Monitors on endpoints.")
    alerts: list[Alert] = Field(default_factory=empty_list, description="Alerts on monitors.")
    channels: list[Channel] = Field(default_factory=empty_list, description="Notification channels.")
    environments: dict[Name, Environment] = Field(default_factory=empty_dict, description="Environments, by name.")

    def item(self, section: str, name: str):
        """The item called ``name`` in ``section``, or None (first one when names repeat)."""
        by_name = self._index.get(section)
        return None if by_name is None else by_name.get(name)

    @cached_property
    def _index(self) -> dict[str, dict[str, Any]]:
        """Items by section and name, built once per (immutable) system."""
        index: dict[str, dict[str, Any]] = {}
        for section in SECTIONS:
            by_name = index[section] = {}
            for it in getattr(self, section):
                by_name.setdefault(it.name, it)
        return index

    @cached_property
    def positions(self) -> dict[str, dict[str, int]]:
        """Per section, each item name -> the index of its first item, built once per (immutable)
        system (the semantic checks of a system and of its environment share it). Never mutate it."""
        return {section: _positions(getattr(self, section)) for section in SECTIONS}

    @cached_property
    def registering(self) -> dict[str, int]:
        """Model name -> the index of the first training job that registers it, built once per
        (immutable) system. Never mutate it."""
        out: dict[str, int] = {}
        for j, job in enumerate(self.training_jobs):
            if job.registers is not None:
                out.setdefault(job.registers, j)
        return out

    def with_updates(self, updates: dict[str, Any]) -> MLSystem:
        """``model_copy(update=updates)`` without what is cached on this system (``model_copy`` copies
        the instance dict, where the indexes above live: they would describe this system's items),
        except the positions of the sections ``updates`` leaves as they are."""
        copy = self.model_copy(update=updates)
        for name in CACHED:
            copy.__dict__.pop(name, None)
        known = self.__dict__.get("positions")
        if known is not None:
            copy.__dict__["positions"] = {section: _positions(getattr(copy, section)) if section in updates
                                          else known[section] for section in SECTIONS}
        return copy


def _positions(items: list[Any]) -> dict[str, int]:
    by_name: dict[str, int] = {}
    for i, item in enumerate(items):
        by_name.setdefault(item.name, i)
    return by_name


CACHED = ("_index", "positions", "registering")
"""The cached properties of :class:`MLSystem` (derived from its items)."""
