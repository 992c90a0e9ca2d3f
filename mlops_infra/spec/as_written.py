"""The fix for a number written where text is meant, quoted as the user wrote it.

Contract:
- :func:`quote_fix` and :func:`key_fix` write the fix of a "must be text" diagnostic from the number
  as parsed (all :mod:`mlops_infra.spec.errors` knows: pydantic sees the parsed value);
  :func:`as_written` rewrites that fix, once the diagnostic has a location, with the scalar as
  the user wrote it there, when that text parses to the number the fix shows (the same parser as
  the document: :func:`mlops_infra.spec.loader.core_value`'s ``yaml_rs.loads``). Anything else
  (no number at the location, another number, a diagnostic of another kind) is returned as it is.

- :func:`unquote_fix` writes the fix of a number or boolean field given text (``Write ... here.``
  plus :data:`REMOVE_QUOTES`); :func:`as_written` keeps "Remove the quotes." only where the scalar at
  the location is quoted. A plain word gets none (there are no quotes to remove), and a plain YAML 1.1
  boolean word (``yes``, ``no``, ``on``, ``off``, ``y``, ``n``, any case) in a true/false field is told
  why it is text: YAML 1.2's core schema resolves only ``true``/``false`` (and their ``True``/``TRUE``
  spellings) to booleans (YAML 1.2.2, section 10.3.2, "Tag Resolution"); ``yes`` is ``!!str`` there.

Why (audit yamledge, stop 44, finding 2): YAML 1.2's core schema reads a plain ``012345678901`` as
the integer 12345678901, and yaml-rs also reads ``2026_12`` as 202612, ``1.10`` as 1.1, ``0777`` as
777 and ``1e3`` as 1000.0. The fix used to quote the parsed number, so following it gave an 11-digit
account id (an AWS account id is 12 digits: botocore ``organizations`` shape ``AccountId``, pattern
``^\\d{12}$``) or a silently different label value ("1.1" for ``1.10``), which then reaches every
resource's tags.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from mlops_infra.diagnostics import Diagnostic

QUOTE_IT = ('Quote it: {label}: "{written}". Unquoted, YAML reads it as a number (and drops leading zeros, which '
            "matters for ids such as AWS accounts).")
"""The fix of a text field given a number (:func:`quote_fix`)."""

KEY_FIX = ('YAML reads this unquoted key as {what}; keys of "{parent}" are text: quote the key as you mean it, '
           'for example "{written}": value.')
"""The fix of a mapping key that is a number or a boolean (:func:`key_fix`)."""

REMOVE_QUOTES = " Remove the quotes."
"""How the fix of a number or boolean field given text ends (:func:`unquote_fix`)."""

YAML11_BOOLEAN = ("{fix} YAML 1.2, which mlops-infra reads, takes only true and false as booleans: {word} is text "
                  "here; write true or false.")
"""The fix of a true/false field given a plain YAML 1.1 boolean word (see the module contract)."""

_BOOLEAN_FIX = "Write true or false here."
_YAML11_WORDS = frozenset({"y", "yes", "n", "no", "on", "off"})

_FIXES = (re.compile(r'Quote it: .+?: "(?P<written>[^"]*)"\. Unquoted'),
          re.compile(r'quote the key as you mean it, for example "(?P<written>[^"]*)": value\.'))
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9.][0-9A-Za-z_.+-]*")
"""A plain scalar that may read as a number, from where it starts (digits, sign, point, exponent,
``0x``/``0o`` prefixes, ``_`` separators); it stops at a space, ``,``, ``:``, ``]``, ``}`` or ``#``."""


def quote_fix(label: str, shown: str) -> str:
    """The fix for the text field ``label`` given the number shown as ``shown``."""
    return QUOTE_IT.format(label=label, written=shown)


def key_fix(parent: str, what: str, shown: str) -> str:
    """The fix for a key of ``parent`` read as ``what`` ("a number", "a boolean"), shown as ``shown``."""
    return KEY_FIX.format(what=what, parent=parent, written=shown)


def unquote_fix(words: str) -> str:
    """The fix for a field of ``words`` ("true or false", "a whole number") given text."""
    return f"Write {words} here.{REMOVE_QUOTES}"


def as_written(diagnostic: Diagnostic, line: str, parse: Any) -> Diagnostic:
    """``diagnostic`` with its fix quoting the scalar as written at its location on ``line`` (the
    location's raw source line), when ``parse`` (text -> value, as the document was read) of that text
    gives the number the fix shows; else ``diagnostic`` unchanged (see the module contract)."""
    location = diagnostic.location
    if diagnostic.code != "wrong-type" or location is None or not line:
        return diagnostic
    at = line[max(location.column - 1, 0):]
    if diagnostic.detail.endswith(REMOVE_QUOTES):
        return diagnostic if _KEY_AT.match(at) else _unquoted(diagnostic, at)
    for fix in _FIXES:
        found = fix.search(diagnostic.detail)
        if found is None:
            continue
        if fix is _FIXES[0] and _KEY_AT.match(at):
            return diagnostic  # located at a key (an override's, whose value is a mapping): not the value's text
        token = _PLAIN_NUMBER.match(line, max(location.column - 1, 0))
        written, shown = (token.group() if token else ""), found.group("written")
        if not written or written == shown or not _reads_as(parse, written, shown):
            return diagnostic
        start, end = found.span("written")
        return replace(diagnostic, detail=diagnostic.detail[:start] + written + diagnostic.detail[end:])
    return diagnostic


def _unquoted(diagnostic: Diagnostic, written: str) -> Diagnostic:
    if written[:1] in ("'", '"') or not written:
        return diagnostic  # quoted (or nothing to read there): the quotes are what to remove
    fix = diagnostic.detail.removesuffix(REMOVE_QUOTES)
    word = _PLAIN_WORD.match(written)
    if fix == _BOOLEAN_FIX and word and word.group().lower() in _YAML11_WORDS:
        fix = YAML11_BOOLEAN.format(fix=fix, word=word.group())
    return replace(diagnostic, detail=fix)


_PLAIN_WORD = re.compile(r"[A-Za-z]+(?=\s|$|[,}\]])")
"""A plain word, as far as the scalar goes (``#`` starts a comment only after a space: ``Yes#1`` is one scalar)."""

_KEY_AT = re.compile(r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#,\[\]{}"'][^#,\[\]{}]*?)[ \t]*:(?:\s|$)""")
"""A mapping key where the location is (a diagnostic about a value placed at its override's key, because the
override's value is a mapping: review44-rest-2): there is no value's text to read there."""


def _reads_as(parse: Any, written: str, shown: str) -> bool:
    try:
        value = parse(written)
    except Exception:  # any refusal of the parser: not a scalar it reads, no rewrite
        return False
    return isinstance(value, int | float) and not isinstance(value, bool) and str(value) == shown
