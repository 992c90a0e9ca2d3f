"""Inputs whose order is not part of their value: Terraform set-typed lists and IAM policy documents.

Contract (pure; the arguments are not modified): both functions take the two sides of one input as the
walk of :mod:`mlops_infra.plan.normalize` gives them (plain JSON, refs resolved, integral floats made
integers) and return the prior side *aligned* to the desired one: what equals a desired member sits
where the desired side has it, and a member that is equivalent as the provider judges it is replaced by
the desired member's own spelling. The aligned prior equals the desired side exactly when the provider
sees no change; otherwise what differs is left as it is (a set whose members changed, a statement's
changed Resource list), so a real change shows as it always has, without the equivalent parts.

- :func:`align_set`: a list whose schema type is ``TypeSet`` in terraform-provider-aws. A set's order is
  not part of its value: pulumi-terraform-bridge's detailed diff matches set elements by hash, not by
  index (pkg/tfbridge/detailed_diff.go ``makeSetDiff``: ``removed, added := computeSetHashChanges(...)``,
  no change when both are empty), and Terraform's planned state of a reordered set equals its prior state,
  so ``pulumi preview`` shows nothing (provider.go ``Diff``: ``DiffOverrideNoUpdate`` -> ``DIFF_NONE``).
  Elements compare as canonical JSON (multiset: a duplicate counts).
- :func:`align_policy`: an IAM policy document of an input whose schema has
  ``DiffSuppressFunc: verify.SuppressEquivalentPolicyDiffs`` (terraform-provider-aws internal/verify/diff.go,
  which returns ``awspolicy.PoliciesAreEquivalent(old, new)``). github.com/hashicorp/awspolicyequivalence
  (aws_policy_equivalence.go): ``Version`` and ``Id`` equal; ``Statement`` a list or a single object, the
  statements matched as a set (each one equals one of the other side's, both ways, as many on each side);
  two statements are equal when ``Sid`` is equal, ``Effect`` is equal ignoring case, ``Action``,
  ``NotAction``, ``Resource``, ``NotResource`` hold the same strings in any order (a single string is a
  one-item list: ``newStringSet``), each ``Condition`` operator holds the same keys with the same values
  in any order, and ``Principal``/``NotPrincipal`` are the same string or map each key to the same
  principals in any order (a 12-digit account ID equals ``arn:<partition>:iam::<that account>:root``;
  ``stringPrincipalsEqual``). Stricter than the library where it is lenient by accident (two different
  string principals are never equal here; a statement key the library does not read must be equal), so
  nothing is called equivalent that IAM would read differently.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import orjson

_STRING_SETS = ("Action", "NotAction", "Resource", "NotResource")
_PRINCIPALS = ("Principal", "NotPrincipal")
_ROOT = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")


def _canonical(value: Any) -> bytes:
    """A value's JSON with sorted keys: equal exactly for equal JSON values (``true`` is not ``1``)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return repr(value).encode()


def align_set(prior: list, desired: list) -> list:
    """``prior`` aligned to ``desired`` as a set (module contract), when both hold as many members: each prior
    member equal to a desired one (canonical JSON; a duplicate counts) takes that desired member's index, and
    the prior members equal to none fill the remaining indexes in their own order. So both holding the same
    members gives the desired list (equal), and a member replaced by another shows, by index, only where it
    differs: a rollback alarm replaced by another names that one ``alarms[i]``, not every alarm after it
    (closing-43c-1; the bridge's set diff matches members by hash, not index). Members added or removed
    (lengths differ): ``prior`` as it is, for the diff's own list alignment to show them at their places."""
    if len(prior) != len(desired):  # members added or removed: the diff's own list alignment shows them
        return prior
    keys = [_canonical(v) for v in prior]
    wanted = [_canonical(v) for v in desired]
    if keys == wanted:
        return prior
    waiting: dict[bytes, deque[int]] = {}
    for i, key in enumerate(keys):
        waiting.setdefault(key, deque()).append(i)
    slots: list[Any] = []
    matched: set[int] = set()
    for j, key in enumerate(wanted):
        found = waiting.get(key)
        if found:
            matched.add(found.popleft())
            slots.append(desired[j])
        else:
            slots.append(_HOLE)
    rest = deque(v for i, v in enumerate(prior) if i not in matched)
    return [rest.popleft() if v is _HOLE else v for v in slots]  # as many holes as unmatched prior members


_HOLE = object()
"""A desired index no prior member equals (:func:`align_set`): filled by an unmatched prior member."""


# --- IAM policy documents ------------------------------------------------------------------------


def align_policy(prior: Any, desired: Any) -> Any:
    """``prior`` (a parsed policy document) aligned to ``desired`` (see the module contract): each statement
    equivalent to a desired one takes that one's spelling and index; returned as it is when either is not
    a policy object (``Statement`` a list or an object)."""
    if type(prior) is not dict or type(desired) is not dict:
        return prior
    p_statements, d_statements = prior.get("Statement"), desired.get("Statement")
    p_list, d_list = _statements(p_statements), _statements(d_statements)
    if p_list is None or d_list is None:
        return prior
    statements = _align_statements(p_list, d_list)
    aligned = dict(prior)
    if type(d_statements) is dict and len(statements) == 1:
        aligned["Statement"] = statements[0]  # one statement as an object is that one in a list (document())
    else:
        aligned["Statement"] = statements
    return aligned


def _statements(value: Any) -> list | None:
    if type(value) is list:
        return value if all(type(s) is dict for s in value) else None
    if type(value) is dict:
        return [value]
    return None


def _align_statements(prior: list[dict], desired: list[dict]) -> list:
    """Each desired statement takes an equivalent prior one (as its own spelling), else a prior one with
    the same ``Sid``, else the next prior one left (both aligned member by member, so only their real
    differences show); prior statements left over follow."""
    free = list(range(len(prior)))
    placed: list[Any] = [None] * len(desired)
    for i, statement in enumerate(desired):
        for j in free:
            if statement_equivalent(prior[j], statement):
                placed[i] = statement
                free.remove(j)
                break
    for i, statement in enumerate(desired):
        if placed[i] is None and "Sid" in statement:
            for j in free:
                if prior[j].get("Sid") == statement["Sid"]:
                    placed[i] = _align_statement(prior[j], statement)
                    free.remove(j)
                    break
    rest = deque(free)
    out = []
    for i, statement in enumerate(placed):
        if statement is None:
            if not rest:
                continue
            statement = _align_statement(prior[rest.popleft()], desired[i])
        out.append(statement)
    out.extend(prior[j] for j in rest)
    return out


def _align_statement(prior: dict, desired: dict) -> dict:
    """A prior statement that differs from ``desired``: each member equivalent to the desired one takes
    its spelling; the others stay as they are (a changed Resource list shows as it always has)."""
    return {key: desired[key] if key in desired and _member_equivalent(key, value, desired[key]) else value
            for key, value in prior.items()}


def statement_equivalent(prior: dict, desired: dict) -> bool:
    """Whether two statements are equal as awspolicyequivalence's ``policyStatement.equals`` reads them
    (see the module contract); a member absent from one side is equivalent only to an empty value."""
    for key in prior.keys() | desired.keys():
        if not _member_equivalent(key, prior.get(key), desired.get(key)):
            return False
    return True


def _member_equivalent(key: str, ours: Any, theirs: Any) -> bool:
    if key == "Effect" and type(ours) is str and type(theirs) is str:
        return ours.lower() == theirs.lower()
    if key in _STRING_SETS:
        a, b = _string_set(ours), _string_set(theirs)
        return a is not None and a == b
    if key in _PRINCIPALS:
        return _principals_equivalent(ours, theirs)
    if key == "Condition":
        return _conditions_equivalent(ours, theirs)
    return _canonical(ours) == _canonical(theirs)


def _string_set(value: Any) -> list[str] | None:
    """``newStringSet``: absent -> [], a string -> [it], a list of strings -> them sorted; else None."""
    if value is None:
        return []
    if type(value) is str:
        return [value]
    if type(value) is list and all(type(v) is str for v in value):
        return sorted(value)
    return None


def _principal(value: str) -> str:
    """A principal as compared: ``arn:<partition>:iam::<account>:root`` is its account ID."""
    found = _ROOT.match(value)
    return found.group(1) if found else value


def _principals_equivalent(ours: Any, theirs: Any) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    if type(ours) is str and type(theirs) is str:
        return _principal(ours) == _principal(theirs)
    if type(ours) is not dict or type(theirs) is not dict:
        return False
    a = {key: _principal_set(value) for key, value in ours.items() if _principal_set(value) != []}
    b = {key: _principal_set(value) for key, value in theirs.items() if _principal_set(value) != []}
    return None not in a.values() and a == b


def _principal_set(value: Any) -> list[str] | None:
    found = _string_set(value)
    return None if found is None else sorted(_principal(v) for v in found)


def _conditions_equivalent(ours: Any, theirs: Any) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    if type(ours) is not dict or type(theirs) is not dict or ours.keys() != theirs.keys():
        return False
    for operator, block in ours.items():
        other = theirs[operator]
        if type(block) is not dict or type(other) is not dict or block.keys() != other.keys():
            return False
        for key, value in block.items():
            a, b = _string_set(value), _string_set(other[key])
            if a is None or b is None:
                if _canonical(value) != _canonical(other[key]):
                    return False
            elif a != b:
                return False
    return True
