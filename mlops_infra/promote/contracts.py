"""The serving contract of a promotion: :func:`serving_findings` of a :class:`~mlops_infra.promote.promote.Promotion`.

The rule is the spec's (:mod:`mlops_infra.spec.serving_contract`: how each environment serves a
model, KServe or SageMaker, and when DST surely cannot serve what SRC serves), so ``validate``
and ``promote`` say the same; this module gives it the promotion's models and the endpoints that
serve them (audit finding xpromote-3).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.spec.serving_contract import ServingFinding, contract_findings

__all__ = ["ServingFinding", "serving_findings"]


def serving_findings(promotion: Any, listings: Any = None) -> tuple[ServingFinding, ...]:
    """One finding per promoted model whose serving contract changes from SRC to DST (see
    :func:`mlops_infra.spec.serving_contract.contract_findings`), sorted by model. ``listings``:
    model -> the files of the artifact SRC serves, when read (refused only when they lack DST's
    layout: audit finding closing-37a-1); the preview does not read them yet: warnings."""
    endpoints: dict[str, list[str]] = {}
    for mapping in promotion.versions.mappings:
        endpoints.setdefault(mapping.model, []).append(mapping.endpoint)
    return contract_findings(promotion.src, promotion.src_system, promotion.dst, promotion.dst_system,
                             {model: tuple(names) for model, names in endpoints.items()}, listings)
