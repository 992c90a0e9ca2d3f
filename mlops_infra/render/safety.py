"""A last line of defence: refuse to render a plan that holds something shaped like a secret.

Contract: plans are redacted when they are built (sensitive values become ``(sensitive)``), so a
match here means a secret reached the plan unmarked: a spec with a credential written inline, or a
bug. :func:`check_plan_safe` walks every string in ``Plan.to_json()`` and raises
:class:`UnsafePlanError` naming where the value is and what it looks like, never the value itself.
The shapes are deliberately narrow (well-known token prefixes, webhook URLs, private keys,
credentials in URLs, Pulumi secret envelopes) so legitimate plans are not refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlops_infra import jsoncodec
from mlops_infra.errors import UserError
from mlops_infra.plan.model import Plan
from mlops_infra.state.model import SECRET_SIG

SECRET_SHAPES: dict[str, re.Pattern[str]] = {
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "an AWS secret access key": re.compile(r"(?i)aws_secret_access_key[\"']?\s*[=:]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"),
    "a Slack webhook URL": re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{8,}"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "a GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    "a private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "a password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
    "a Discord or Teams webhook URL": re.compile(
        r"discord(?:app)?\.com/api/webhooks/\d+/|\.webhook\.office\.com/webhookb2/"),
    "a Pulumi secret value": re.compile(re.escape(SECRET_SIG)),
}
"""What a secret looks like -> pattern. Keep these narrow: a false match blocks a plan."""

_PREFILTER = re.compile(
    r"AKIA|ASIA|(?i:aws_secret_access_key)|hooks\.slack\.com/|xox[abprs]-|gh[pousr]_|github_pat_"
    r"|PRIVATE KEY-----|://[^/\s@]*@|discord(?:app)?\.com/api/webhooks/|\.webhook\.office\.com/|" + SECRET_SIG)
r"""A literal anchor of every shape above, searched once over the plan's JSON text.

It is a superset: each pattern contains one of these anchors, made only of characters JSON does
not escape (``://[^/\s@]*@`` covers a password in a URL: escaping adds no '/', space or '@').
A plan without any anchor needs no per-string walk, which at 19,000 resources is the difference
between milliseconds and a second and a half. A test keeps every shape covered.
"""


class UnsafePlanError(UserError):
    """The plan holds a value shaped like a secret; it was not rendered."""


def _segment(key: Any) -> str:
    """A path segment for a mapping key; a key shaped like a secret is not spelled out."""
    text = str(key)
    return "<key shaped like a secret>" if any(p.search(text) for p in SECRET_SHAPES.values()) else text


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{_segment(key)}"
            yield child, str(key)
            yield from _strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def find_secret_shapes(value: Any, path: str = "plan") -> list[tuple[str, str]]:
    """Every (JSON path, shape description) in ``value`` that looks like a secret."""
    found = []
    for where, text in _strings(value, path):
        for shape, pattern in SECRET_SHAPES.items():
            if pattern.search(text):
                found.append((where, shape))
    return found


def check_plan_safe(plan: Plan, data: dict[str, Any] | None = None) -> None:
    """Raise :class:`UnsafePlanError` when any string in the plan looks like a secret.

    ``data`` is ``plan.to_json()`` when the caller has built it already (it is not built twice).
    """
    data = plan.to_json() if data is None else data
    if not _PREFILTER.search(jsoncodec.canonical_bytes(data).decode()):
        return
    found = find_secret_shapes(data)
    if not found:
        return
    where = "\n".join(f"  {path}: looks like {shape}" for path, shape in found[:10])
    more = f"\n  ... and {len(found) - 10} more" if len(found) > 10 else ""
    raise UnsafePlanError(
        "refusing to print a plan that looks like it holds a secret",
        f"{where}{more}\nThe values were not printed. Put credentials in a secret store and refer to "
        f"them by name ({{secret: <name>}} in mlsystem.yaml). If the value is not a secret, or the "
        f"spec already refers to a secret, this is a bug in mlops-infra: please report it.",
    )
