r"""Regular-expression pieces that mean the same in every engine that reads the spec's patterns.

A pattern of the spec is read by three engines: pydantic's Rust ``regex`` (field ``pattern=``),
Python's ``re`` (the parsers in :mod:`.quantities` and :mod:`.cron`, and the ``jsonschema``
package) and, through the committed JSON Schema, an editor's ECMA-262 engine (JSON Schema 2020-12
Core, section 6.4 "Regular Expressions"). Their class escapes differ: ``\w``, ``\d`` and ``\b`` are
ASCII in ECMA-262 and Unicode in the other two, and ``\s`` is a different set in each (Python's
holds U+001C-U+001F and U+0085, ECMA-262's holds U+FEFF, Rust's holds U+0085 only). The spec's
patterns therefore spell classes out (a test refuses these escapes in the schema).
"""

from __future__ import annotations

WHITESPACE = (r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
"""The inside of a character class (``[...]``) holding every character any of the engines calls
whitespace: Python's ``str.isspace`` set, ECMA-262's WhiteSpace and LineTerminator, and Unicode's
White_Space; all in the Basic Multilingual Plane, so an ECMA-262 engine without the ``u`` flag
reads it the same way."""
