"""What a promotion carries: the artifacts SRC's endpoints serve, and the version each is in DST.

A registry's version number is a counter per registry (finding A1, B11.1): v14 in dev's MLflow and
v14 in staging's SageMaker group are unrelated. What is promoted is an *artifact*, known by its
digest (``sha256:...``, :data:`mlops_infra.model_versions.DIGEST_PROPERTY` on a SageMaker package,
the ``mlops-infra.artifact-digest`` tag on an MLflow version). Contract of :func:`map_versions`
(pure: two effective systems and two registry views in, data out):

- for every endpoint of SRC (by name): the model and version SRC pins, the record of that version
  in SRC's registry (it must be there and carry a digest), and the version of DST's registry that
  holds the same digest (:meth:`~mlops_infra.model_versions.RegistryView.find_digest`);
- when DST's registry does not hold it yet, DST's number is the one its registry will give the
  next registration: one more than the highest version it holds (SageMaker numbers the packages
  of a group 1, 2, 3... and MLflow the versions of a registered model the same way), shared by
  every endpoint promoting that artifact; ``registered`` is False and the artifact steps register
  it. Until then DST's plan shows the endpoint waiting for that version (the A1 logic). That number
  is a forecast only: anything registering into DST's registry first (DST's own retrain pipeline
  registers into the same group) takes it, so a pin of it is never written
  (:attr:`VersionMap.unregistered`, refused by ``promote --write``: audit finding promote-4);
- the pins are the override keys whose DST value differs: ``endpoints.<name>.model.version`` (and
  ``.model.name`` when SRC serves another model there);
- a registry that was not read (its basis is not ``registry``), a version SRC's registry does not
  hold, or one without a digest, is a *problem*: the promotion refuses (fails closed) rather than
  copy a number that means something else in DST;
- a version SRC could not serve is a *problem* too: a promotion carries what SRC serves, and SRC's
  own plan refuses a version that is Rejected, not Completed (Pending, Failed...), or -- where SRC
  serves approved versions only -- not Approved. The rule is SRC's own, not a copy:
  :func:`mlops_infra.model_versions.unavailable` (what :meth:`RegistryView.decide` applies), with
  the ``gated`` flag :func:`mlops_infra.model_versions.serves_approved_only` gives SRC's endpoint (the model's
  ``approval: manual``, or SRC declares the ``model_approved`` gate), and the ``sagemaker`` flag of an AWS
  SRC (:func:`mlops_infra.model_versions.deploys_approved_only`: SageMaker deploys only Approved packages,
  so an AWS SRC never serves a PendingManualApproval one, whatever its gates: audit registry-2). Without
  it, a version Rejected in SRC was registered in DST and, with ``approval: automatic``, approved there
  by the artifact steps, so ``model_approved`` passed for it (audit finding, 2026-12-05).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.model_versions import (
    ModelRegistry,
    RegistryView,
    VersionRecord,
    deploys_approved_only,
    serves_approved_only,
    unavailable,
)
from mlops_infra.promote.edit import Pin


@dataclass(frozen=True)
class VersionMapping:
    """One endpoint's artifact: ``model`` v``src_version`` in SRC = v``dst_version`` in DST."""

    endpoint: str
    model: str
    src_version: int
    dst_version: int
    digest: str
    registered: bool
    """True when DST's registry already holds the artifact (as ``dst_version``)."""
    src_record: VersionRecord
    dst_record: VersionRecord | None
    src_where: str
    dst_where: str

    def sentence(self, src: str, dst: str) -> str:
        """``fraud-model v14 in dev = v3 in staging, sha256:...`` (and whether it is registered)."""
        tail = "" if self.registered else f" (not registered in {dst} yet: the artifact steps register it)"
        return f"{self.model} v{self.src_version} in {src} = v{self.dst_version} in {dst}, {self.digest}{tail}"

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "model": self.model, "srcVersion": self.src_version,
                "dstVersion": self.dst_version, "digest": self.digest, "registered": self.registered,
                "src": self.src_record.to_json(), "dst": self.dst_record.to_json() if self.dst_record else None,
                "srcRegistry": self.src_where, "dstRegistry": self.dst_where}


@dataclass(frozen=True)
class VersionMap:
    """Every endpoint's mapping, the pins they need in DST, and the problems that refuse it."""

    mappings: tuple[VersionMapping, ...]
    pins: tuple[Pin, ...]
    problems: tuple[str, ...]

    @property
    def unregistered(self) -> tuple[VersionMapping, ...]:
        """The mappings whose artifact DST's registry does not hold yet (their number is a forecast),
        once per model and digest."""
        seen: dict[tuple[str, str], VersionMapping] = {}
        for m in self.mappings:
            if not m.registered:
                seen.setdefault((m.model, m.digest), m)
        return tuple(seen.values())


def map_versions(src: str, src_system: Any, src_view: RegistryView, dst: str, dst_system: Any,
                 dst_view: RegistryView) -> VersionMap:
    """The version mapping from ``src`` to ``dst`` (see the module contract)."""
    dst_endpoints = {e.name: e for e in dst_system.endpoints}
    mappings: list[VersionMapping] = []
    pins: list[Pin] = []
    problems: list[str] = []
    next_numbers: dict[tuple[str, str], int] = {}
    for endpoint in sorted(src_system.endpoints, key=lambda e: e.name):
        model, version = endpoint.model.name, endpoint.model.version
        source = _source_record(src, src_view.models.get(model), model, version, problems)
        if source is None or not _servable(src, src_system, endpoint, src_view.models[model], source, problems):
            continue
        target = dst_view.models.get(model)
        if target is None or target.basis != "registry":
            problems.append(f"{dst}'s registry of {model} was not read ({_where(target, dst)}), so the version "
                            f"holding {source.digest} there is unknown")
            continue
        found = dst_view.find_digest(model, source.digest or "")
        if found is not None:
            dst_version = found.version
        else:
            dst_version = next_numbers.setdefault((model, source.digest or ""), _next_number(target, next_numbers, model))
        mappings.append(VersionMapping(endpoint.name, model, version, dst_version, source.digest or "",
                                       found is not None, source, found, src_view.models[model].where, target.where))
        current = dst_endpoints.get(endpoint.name)
        if current is None:
            problems.append(f"endpoint {endpoint.name} of {src} does not exist in {dst}")
            continue
        if current.model.name != model:
            pins.append(Pin(f"endpoints.{endpoint.name}.model.name", model))
        if current.model.version != dst_version:
            pins.append(Pin(f"endpoints.{endpoint.name}.model.version", dst_version))
    return VersionMap(tuple(mappings), tuple(pins), tuple(problems))


def _source_record(src: str, registry: ModelRegistry | None, model: str, version: int,
                   problems: list[str]) -> VersionRecord | None:
    if registry is None or registry.basis != "registry":
        problems.append(f"{src}'s registry of {model} was not read ({_where(registry, src)}), so the artifact "
                        f"of v{version} is unknown")
        return None
    record = registry.versions.get(version)
    if record is None:
        problems.append(f"{model} v{version}, which {src} pins, is not in {registry.where}; register it there or pin "
                        "a version that exists")
        return None
    if not record.digest:
        problems.append(f"{model} v{version} in {registry.where} carries no artifact digest, so it cannot be "
                        "recognised in another registry; record it (SageMaker CustomerMetadataProperties "
                        "mlops-infra/artifact-digest, MLflow version tag mlops-infra.artifact-digest)")
        return None
    return record


def _servable(src: str, src_system: Any, endpoint: Any, registry: ModelRegistry, record: VersionRecord,
              problems: list[str]) -> bool:
    """Whether SRC could serve ``record`` on ``endpoint`` (see the module contract); a problem says
    why not, naming the version, its status in SRC's registry and the fix."""
    why = unavailable(registry, record, record.version, serves_approved_only(src_system, src, endpoint.model.name),
                      sagemaker=deploys_approved_only(src_system, src))
    if why is None:
        return True
    problems.append(f"{endpoint.model.name} v{record.version}, which {src} pins on endpoint {endpoint.name}, cannot "
                    f"be served in {src}: {why}. A promotion carries only what {src} can serve: pin a servable "
                    f"version in {src} (or make this one servable there), then promote again")
    return False


def _next_number(registry: ModelRegistry, taken: Mapping[tuple[str, str], int], model: str) -> int:
    """The number DST's registry gives its next registration, after those this promotion already
    gave (several artifacts of one model promoted at once)."""
    highest = max([*registry.versions, *(n for (m, _), n in taken.items() if m == model)], default=0)
    return highest + 1


def _where(registry: ModelRegistry | None, env: str) -> str:
    if registry is None:
        return f"no registry read for {env}"
    return f"{registry.where}, decided from {registry.basis}"
