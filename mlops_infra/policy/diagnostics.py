"""Guardrail results as diagnostics at the line to change: what ``validate`` and ``plan`` print.

Contract: :func:`guardrail_diagnostics` turns the failing results of one environment into
diagnostics: an error for a mandatory rule, a warning for an advisory one, code
``guardrail-<rule>`` (docs/guardrails.md). Each is placed at the field to change: the item's field
(``endpoints[0].capture``), or the override that sets it in that environment when one does
(``environments.prod.overrides``), or the cap (``environments.prod.guardrails.max_gpus``); a field
that is absent points at its item; what items share (a platform bucket) points at the target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from mlops_infra.diagnostics import Diagnostic, error, warning
from mlops_infra.policy.model import FAIL, GuardrailResult
from mlops_infra.spec.effective import apply_overrides
from mlops_infra.spec.guardrails import RULES
from mlops_infra.spec.loader import LoadedDocument
from mlops_infra.spec.system import SECTIONS, MLSystem


def guardrail_diagnostics(results: Iterable[GuardrailResult], document: LoadedDocument, system: MLSystem,
                          env: str) -> list[Diagnostic]:
    """Diagnostics of the failing ``results`` of ``env`` (``system`` is its effective system)."""
    failed = [r for r in results if r.status == FAIL]
    if not failed:
        return []
    data, redirects, _ = apply_overrides(document.data, env)
    effective = document.with_data(data, redirects) if redirects else document
    index = {f"{section}.{item.name}": (section, i) for section in SECTIONS
             for i, item in enumerate(getattr(system, section))}
    out = []
    for result in failed:
        make = error if result.blocks else warning
        for finding in result.findings:
            path = _path(finding.address, finding.field, index, env)
            detail = (f"{finding.fix}\nRule {result.rule}: {RULES[result.rule]}; {result.level} in {env} "
                      f"(environments.{env}.guardrails.rules.{result.rule} sets its level; docs/guardrails.md).")
            out.append(make(f"guardrail-{result.rule.replace('_', '-')}",
                            f"Guardrail {result.rule} ({result.level} in {env}): {finding.message}", detail, path,
                            finding.address))
    return [replace(d, path=effective.raw_path(d.path)) for d in effective.attach(out)]


def _path(address: str, field: str, index: dict[str, tuple[str, int]], env: str) -> tuple[str | int, ...]:
    fields = tuple(field.split(".")) if field else ()
    if address == f"environments.{env}":
        return ("environments", env, *fields)
    if address in index:
        section, i = index[address]
        return (section, i, *fields)
    return ("environments", env, "target")  # what items share (the platform): where it runs
