"""What drift compares, declared once per resource type: :class:`Tracked` (one input property)
and :class:`Tracking` (a type's properties and wording).

These are data only, without I/O; :data:`mlops_infra.state.aws_live.TRACKING` maps type tokens to
them for :mod:`mlops_infra.plan.drift`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Tracked:
    """One input property drift compares.

    ``path`` is dotted, in Pulumi input names (``versioningConfiguration.status``). ``label`` is
    the words a summary uses (``versioning``). ``kind`` says how both sides are normalised before
    comparing: ``value`` (plain; nested objects compare only the keys the prior side sets),
    ``map`` (user data such as tags or environment: every key counts), ``tags`` (a map without
    AWS-reserved ``aws:`` keys), ``set`` (order does not matter), ``json`` (a JSON document in a
    string), ``policy`` (an IAM policy document: JSON plus IAM's scalar/list equivalences), ``env``
    (a map of environment variables, compared variable by variable, a value that may be secret never
    shown: :mod:`mlops_infra.plan.drift`) or ``keyed:<field>`` (a list of objects identified by ``<field>``, e.g. variants by
    ``variantName``). ``default`` is the value Pulumi assumes when the prior inputs do not set the
    property; ``computed`` properties are filled in by the provider or the cloud and are compared
    only when the prior inputs set them. ``prior_output``, when set, is the output that holds the
    prior value instead (``tagsAll`` includes provider default tags). ``sensitive`` values (such
    as container environments, which often carry tokens) are compared but drift never shows them.
    """

    path: str
    label: str
    kind: str = "value"
    default: Any = None
    computed: bool = False
    prior_output: str | None = None
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class Tracking:
    """What drift compares for one resource type and how it words it.

    ``noun`` names the thing in ML/operator terms (``endpoint``, ``alarm``, ``bucket``);
    ``gone`` is what happened when it is missing (``deleted``, ``encryption removed``);
    ``subject`` picks the name shown: ``name`` (the Pulumi logical name) or ``id`` (the physical
    id, used for bucket sub-resources so the summary names the bucket).
    """

    noun: str
    properties: tuple[Tracked, ...]
    gone: str = "deleted"
    subject: str = "name"


TAGS = Tracked("tags", "tags", "tags", prior_output="tagsAll")
"""User tags, compared against the prior ``tagsAll`` output (which includes provider default tags)."""
