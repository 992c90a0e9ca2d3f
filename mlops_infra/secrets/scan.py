"""Find secret-shaped text fast: one prefilter pass over the whole text, exact rules on windows.

Contract:
- :func:`find_secrets` returns every :class:`Finding` (kind, start, end of the secret itself) in a
  text (``str`` offsets for ``str``, byte offsets for ``bytes``), sorted by position, overlapping
  findings merged (the rule listed first in :data:`~mlops_infra.secrets.rules.RULES` names it).
- Cost: one pass of a single compiled pattern (every rule's anchors and the 40-character key
  candidate) over the bytes (UTF-8 for a ``str``; each byte one character, as the rules see them)
  with RE2 (``google-re2``: a DFA, linear time), falling back to
  the standard ``re`` module with the same pattern where RE2 is not installed. A text of more
  than :data:`SPLIT_ABOVE` bytes is passed over in parts on threads, with the one pass's hits
  (:mod:`~mlops_infra.secrets.split_pass`). Only the windows
  around a prefilter hit (the hit's line, at most :data:`WINDOW` bytes before it) are checked with
  the rules, so text without any anchor costs one pass and nothing else. A window opened only by
  40-character key candidates (a long camel-case word such as
  ``targetTrackingScalingPolicyConfiguration``, in every scaling policy of a graph) is passed over
  when no other rule's trigger or anchor occurs in it and no key rule would accept any of its
  standalone 40-character tokens (:func:`_nothing_to_find`): the rules would find nothing there.
- :func:`redact` replaces each finding with ``<redacted: KIND>``; :func:`contains_secret` is the
  yes/no question; :func:`secret_kinds` lists kinds, never values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from mlops_infra.secrets import split_pass
from mlops_infra.secrets.rules import RULES, Rule, pattern_of, plugin_accept

WINDOW = 1024
"""Bytes looked at before a prefilter hit (clipped to its line)."""

LONG_WINDOW = 16384
"""Bytes looked at after a hit, up to the end of its line (long tokens: a JSON web token)."""

SPLIT_ABOVE: int | None = 8 << 20
"""A text of more bytes than this is passed over by the prefilter in parts on threads, one per core
the process may use, at most :data:`MAX_PARTS` (:mod:`~mlops_infra.secrets.split_pass`: the same
hits as one pass; RE2 matches without the GIL). Below it, starting threads and reading the pattern
once per process (where it may be cut) cost about what a second core saves. None: always one pass
(the tests' switch that turns the scan's shortcuts off turns this off too)."""

MAX_PARTS = 4


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret-shaped span ``text[start:end]`` of kind ``kind`` ("an AWS access key id")."""

    kind: str
    start: int
    end: int


def engine() -> Any:
    """The regex module for whole-text scans: RE2 when installed, else ``re`` (same syntax subset)."""
    try:
        import re2  # google-re2: linear-time DFA matching, several times faster for this alternation
    except ImportError:  # pragma: no cover - google-re2 is a core dependency; kept for odd platforms
        return re
    return re2


def prefilter_pattern() -> bytes:
    """The alternation of every rule's triggers (RE2 syntax)."""
    triggers = dict.fromkeys(t for rule in RULES for t in rule.triggers)
    return "|".join(f"(?:{t})" for t in triggers).encode()


def _compile_bytes(pattern: bytes) -> Any:
    """``pattern`` compiled for bytes as the rules' ``re`` patterns see them, one byte one character:
    RE2 in Latin-1 mode (in its default UTF-8 mode a negated class such as ``[^@\\s]`` never matches
    a byte that is not UTF-8, so a secret beside one went unseen; RE2's ``Options.encoding``), else
    ``re``."""
    module = engine()
    if module is re:
        return re.compile(pattern)
    options = module.Options()
    options.encoding = module.Options.Encoding.LATIN1
    return module.compile(pattern, options)


@cache
def _prefilter() -> Any:
    """The one pattern that finds every place worth a closer look (every rule's triggers)."""
    return _compile_bytes(prefilter_pattern())


def _build_trigger_index() -> tuple[dict[bytes, tuple[Rule, ...]], dict[str, tuple[Rule, ...]]]:
    literal: dict[bytes, list[Rule]] = {}
    patterns: dict[str, list[Rule]] = {}
    for rule in RULES:
        if rule.anchors and not rule.trigger:
            for anchor in rule.anchors:
                literal.setdefault((anchor.lower() if rule.fold_case else anchor).encode(), []).append(rule)
        else:
            for trigger in rule.triggers:
                patterns.setdefault(trigger, []).append(rule)
    return {k: tuple(v) for k, v in literal.items()}, {k: tuple(v) for k, v in patterns.items()}


_BY_ANCHOR, _BY_TRIGGER = _build_trigger_index()


@cache
def _by_pattern() -> tuple[tuple[re.Pattern[bytes], tuple[Rule, ...]], ...]:
    """Each trigger that is a pattern (not a literal anchor), compiled, with its rules: compiled when a hit or
    a window first needs them, not at import (a run whose texts hold no such hit, a clean ``validate``, never
    does; the standard library's ``re`` builds its character sets in Python)."""
    return tuple((re.compile(k.encode()), v) for k, v in _BY_TRIGGER.items())


_FOLDED = frozenset(a.lower().encode() for r in RULES if r.fold_case and not r.trigger for a in r.anchors)
_LITERAL_RULES: tuple[tuple[bytes, Rule], ...] = tuple(
    (a.encode(), r) for r in RULES if not r.fold_case and not r.trigger for a in r.anchors)
_FOLDED_RULES: tuple[tuple[bytes, Rule], ...] = tuple(
    (a.lower().encode(), r) for r in RULES if r.fold_case and not r.trigger for a in r.anchors)
_ORDER = {id(r): i for i, r in enumerate(RULES)}


REMEMBERED = 512
"""The longest hit (:func:`_rules_of_hit`) and window (:func:`_nothing_to_find`) whose answer is
remembered: a graph repeats the same line, one per scaling policy, and its hit."""


def _rules_of_hit(hit: bytes) -> tuple[Rule, ...]:
    """The rules whose trigger matched ``hit`` (the prefilter's matched bytes)."""
    return _remembered_rules_of_hit(hit) if len(hit) <= REMEMBERED else _find_rules_of_hit(hit)


def _find_rules_of_hit(hit: bytes) -> tuple[Rule, ...]:
    rules = _BY_ANCHOR.get(hit)
    if rules is None and hit.lower() in _FOLDED:
        rules = _BY_ANCHOR.get(hit.lower())
    if rules is not None:
        return rules
    return tuple(r for pattern, group in _by_pattern() if pattern.fullmatch(hit) for r in group)


_remembered_rules_of_hit = lru_cache(maxsize=256)(_find_rules_of_hit)


def _parts(size: int) -> int:
    """How many parts the prefilter's pass over ``size`` bytes runs in (:data:`SPLIT_ABOVE`); one with
    the standard ``re`` module (it holds the GIL while matching)."""
    if SPLIT_ABOVE is None or size <= SPLIT_ABOVE or engine() is re:
        return 1
    return min(MAX_PARTS, _cores())


@cache
def _cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _hits(data: bytes) -> list[Any]:
    """The prefilter's matches in ``data``, as one pass finds them."""
    found = split_pass.find_all(_prefilter(), data, _parts(len(data)))
    assert found is not None  # no mark: never None
    return found


def _windows(data: bytes, hits: Iterable[Any] | None = None) -> list[tuple[int, int, set[Rule]]]:
    """Merged (start, end, rules) windows around every prefilter hit (``hits``: the prefilter's
    matches in ``data``, when a caller found them already)."""
    spans: list[tuple[int, int, set[Rule]]] = []
    for match in _hits(data) if hits is None else hits:
        pos, hit_end = match.span()
        rules = _rules_of_hit(match.group())
        if spans and pos < spans[-1][1]:
            spans[-1][2].update(rules)
            continue
        low = max(0, pos - WINDOW)
        newline = data.rfind(b"\n", low, pos)
        start = newline + 1 if newline != -1 else low
        line_end = data.find(b"\n", hit_end, hit_end + LONG_WINDOW)
        end = line_end if line_end != -1 else min(len(data), hit_end + LONG_WINDOW)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end), spans[-1][2] | set(rules))
        else:
            spans.append((start, end, set(rules)))
    return spans


def _with_anchored(window: bytes, rules: set[Rule]) -> list[Rule]:
    """``rules`` plus every rule whose literal anchor occurs in the window and every rule whose
    trigger pattern matches anywhere in it; in :data:`RULES` order.

    The prefilter reports leftmost, non-overlapping matches of one alternation, so any match of one
    trigger hides the triggers that overlap it, pattern or literal:
    - in ``user:https://h/x?secret=V@registry/img`` the userinfo trigger (``user:…@``) covers the
      query-string trigger (``?secret=V``), and only the userinfo rule, which does not match there,
      would be tried (found by the secrets property test);
    - in ``-----BEGIN RSA PRIVATE KEY-----`` the literal ``BEGIN RSA PRIVATE KEY`` (detect-secrets'
      rule, which spans the header only) covers ``PRIVATE KEY-----``, the anchor of the rule that
      carries the span over the key's body; the body, on the lines after, was printed (found by the
      same test, a private key as a label key in ``validate --format json``).
    Only windows that reach the rules pay for this (a window of 40-character key candidates alone is
    passed over first, :func:`_nothing_to_find`)."""
    lowered = window.lower()
    rules = (rules | {r for anchor, r in _LITERAL_RULES if anchor in window}
             | {r for anchor, r in _FOLDED_RULES if anchor in lowered}
             | {r for pattern, group in _by_pattern() if pattern.search(window) for r in group})
    return sorted(rules, key=lambda r: _ORDER[id(r)])


_KEY40_RULES = tuple(r for r in RULES if r.key40)


@cache
def _others() -> Any:
    """Every trigger of every rule but the 40-character key candidate, as one pattern over bytes
    (:func:`_compile_bytes`).

    A literal anchor's trigger is the anchor escaped (``(?i:...)`` when folded, ASCII letters only),
    so a search finds exactly what :func:`_with_anchored` looks for (``anchor in window``, the
    folded anchor in the lowered window, each trigger pattern searched), in one pass."""
    triggers = dict.fromkeys(t for rule in RULES if not rule.key40 for t in rule.triggers)
    return _compile_bytes("|".join(f"(?:{t})" for t in triggers).encode())


def _nothing_to_find(window: bytes, rules: set[Rule]) -> bool:
    """Whether the rules :func:`_with_anchored` would try on ``window`` surely find nothing there,
    known cheaply: ``rules`` are 40-character key rules only, no other rule's trigger or anchor
    occurs in the window (so :func:`_with_anchored` adds key rules only), and no key rule accepts
    any standalone 40-character token of the window. Every key rule reports its
    :data:`~mlops_infra.secrets.rules.KEY40` group (such a token) and only when its ``accept``
    takes it (tests/secrets/test_scan_fast_path.py checks both, and that the scan finds the same
    with and without this shortcut). The answer for a window of at most :data:`REMEMBERED` bytes
    is remembered (a function of the window alone)."""
    if not all(r.key40 for r in rules):
        return False
    return _remembered_key_candidates_only(window) if len(window) <= REMEMBERED else _key_candidates_only(window)


def _key_candidates_only(window: bytes) -> bool:
    """No trigger or anchor of a rule but the 40-character key rules' occurs in ``window``, and no
    key rule accepts any of its standalone 40-character tokens (:func:`_nothing_to_find`)."""
    if _others().search(window) is not None:
        return False
    return not any(_a_key_rule_accepts(token.decode("ascii")) for token in _key40_tokens(window))


def _key40_tokens(window: bytes) -> Iterator[bytes]:
    """The tokens :data:`~mlops_infra.secrets.rules.KEY40` finds in ``window`` (its group), found
    with RE2 (which has no look-arounds): such a token is a run of exactly 40 characters of the key
    alphabet, the whole run (none before or after it), with no ``=`` after it; a match of
    :func:`_key_runs` is a whole run (leftmost, greedy) with the ``=`` after it if any, so the
    tokens are its 40-byte matches (tests/secrets/test_scan_fast_path.py compares the two)."""
    return (m.group() for m in _key_runs().finditer(window) if m.end() - m.start() == 40)


@cache
def _key_runs() -> Any:
    """Runs of 40 or more characters of the key alphabet, each with the ``=`` after it."""
    return _compile_bytes(rb"[A-Za-z0-9/+]{40,}=?")


_remembered_key_candidates_only = lru_cache(maxsize=256)(_key_candidates_only)


@lru_cache(maxsize=1024)
def _a_key_rule_accepts(token: str) -> bool:
    """Whether a 40-character key rule's ``accept`` takes ``token``; remembered, as ``accept`` is a
    function of the token alone (a graph repeats the same few words in every scaling policy)."""
    return any(rule.accept is None or rule.accept(token) for rule in _KEY40_RULES)


def _matches(rule: Rule, window: bytes, data: bytes, offset: int) -> Iterator[tuple[int, int]]:
    """``rule``'s accepted matches in ``window`` (``data[offset:offset + len(window)]``), as spans of
    ``data``. A match's ``extend`` runs on ``data``, not on the window: a window ends at the hit's
    line end, and what belongs to the secret may not (a private key's body and ``END`` line follow
    its ``BEGIN`` line on lines of their own; cut at the window, they were printed)."""
    accept = rule.accept or (plugin_accept(rule.plugin) if rule.plugin else None)
    for match in pattern_of(rule).finditer(window):
        group = rule.group if rule.group <= match.re.groups else 0
        start, end = match.span(group)
        if start < 0 or end <= start:
            continue
        if accept is not None and not accept(match.group(group).decode("utf-8", "replace")):
            continue
        end += offset
        if rule.extend:
            end = _extension(rule.extend).match(data, end).end()
        yield offset + start, end


@cache
def _extension(pattern: str) -> re.Pattern[bytes]:
    """A rule's ``extend`` pattern, for UTF-8 bytes."""
    return re.compile(pattern.encode())


def _find_in_bytes(data: bytes, hits: Iterable[Any] | None = None) -> list[Finding]:
    found: list[Finding] = []
    for start, end, rules in _windows(data, hits):
        window = data[start:end]
        if _nothing_to_find(window, rules):
            continue
        for rule in _with_anchored(window, rules):
            found.extend(Finding(rule.kind, s, e) for s, e in _matches(rule, window, data, start))
    return _merge(found)


def _merge(found: Iterable[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.start, -f.end, _KIND_ORDER.get(f.kind, 0))):
        if out and finding.start < out[-1].end:
            last = out[-1]
            if finding.end > last.end:
                out[-1] = Finding(last.kind, last.start, finding.end)
            continue
        out.append(finding)
    return out


_KIND_ORDER = {r.kind: i for i, r in reversed(list(enumerate(RULES)))}


def _as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def find_secrets(text: str | bytes) -> list[Finding]:
    """Every secret-shaped span of ``text`` (see the module contract)."""
    if not text:
        return []
    data = _as_bytes(text)
    found = _find_in_bytes(data)
    if not found or isinstance(text, bytes) or len(data) == len(text):
        return found
    return [Finding(f.kind, _char_offset(data, f.start), _char_offset(data, f.end)) for f in found]


@cache
def _prefilter_beside(also: bytes) -> Any:
    """The prefilter with ``also`` as its last alternative, in a group of its own (the last group)."""
    return _compile_bytes(prefilter_pattern() + b"|(" + also + b")")


def find_secrets_beside(data: bytes, also: bytes) -> tuple[list[Finding], list[tuple[int, int]]] | None:
    """``find_secrets(data)`` and, in the same pass over ``data``, whether the pattern ``also`` may
    match in it: None when the pass found a match of ``also`` (and nothing more is done); else the
    findings and the spans of the prefilter's hits, the only places a match of ``also`` can start.

    ``also`` (RE2 syntax, as the prefilter's triggers: one byte one character; no capturing
    groups) is the prefilter's last alternative: RE2 reports the leftmost match and, among those
    starting at one place, the first alternative that matches there (the first match, not the
    longest: re2/re2.h, ``Options``, ``longest_match (false)``). So while no match of ``also`` is reported
    the pass reports exactly the prefilter's own hits (the same findings), and a match of ``also``
    the pass does not report starts where a trigger matched at the same place or inside a trigger's
    match (tests/secrets/test_scan_fast_path.py compares both with the separate passes)."""
    pattern = _prefilter_beside(also)
    hits = split_pass.find_all(pattern, data, _parts(len(data)), mark=pattern.groups)
    if hits is None:
        return None
    return _find_in_bytes(data, hits), [match.span() for match in hits]


def _char_offset(data: bytes, offset: int) -> int:
    return len(data[:offset].decode("utf-8", "surrogatepass"))


def contains_secret(text: str | bytes) -> bool:
    """Whether ``text`` holds anything secret-shaped (one prefilter pass when it holds nothing)."""
    if not text:
        return False
    data = _as_bytes(text)
    return _prefilter().search(data) is not None and bool(_find_in_bytes(data))


def secret_kinds(text: str | bytes) -> list[str]:
    """The kinds of secret in ``text``, each once, in order of appearance (no values)."""
    return list(dict.fromkeys(f.kind for f in find_secrets(text)))


def redact(text: str) -> str:
    """``text`` with every secret-shaped span replaced by ``<redacted: KIND>``."""
    if not text:
        return text
    data = _as_bytes(text)
    if _prefilter().search(data) is None:
        return text
    findings = _find_in_bytes(data)
    if not findings:
        return text
    parts, last = [], 0
    for f in findings:
        parts += [data[last:f.start], f"<redacted: {f.kind}>".encode()]
        last = f.end
    parts.append(data[last:])
    return b"".join(parts).decode("utf-8", "surrogatepass")


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
