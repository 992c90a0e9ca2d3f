"""The smallest edit of a system file that makes one environment pin given values.

Contract of :func:`edit_overrides` (pure: text in, text out):
- Each pin is an override key (``endpoints.scorer.model.version``) and a scalar value. For each,
  in order: when ``environments.<env>.overrides`` already has that key, only the bytes of its value
  are replaced (a trailing comment, the key's quoting and the line stay); when it does not, one
  line ``<key>: <value>`` is added after the last entry of the overrides mapping, indented like its
  other keys (or ``, <key>: <value>`` before the closing brace of a flow mapping); when the
  environment has no overrides at all, an ``overrides:`` entry holding the pins is added after its
  last entry (block style, two spaces deeper than the environment's own keys; flow style in a flow
  mapping). A pin whose key already holds the same value is no edit.
- Everything else in the text stays byte for byte: comments, order, quoting, blank lines, line
  endings (a CRLF file gets CRLF lines). The edit is located on PyYAML's composed nodes, whose
  marks give exact character spans, and applied to the original text (no re-serialisation).
  Only the top-level ``environments:`` entry is composed when it can be cut out on its own (its
  lines, from its key at column 0 to the next line that starts at column 0 with anything but a
  comment): every edit lies inside it, and composing it alone costs a small fraction of composing
  a large document. When it cannot be cut out so (a flow-style root, an alias to an anchor outside
  it, no such key at column 0), the whole text is composed. ``Edit.region`` says which part of
  the text was edited.
- Values are written as YAML 1.2 core scalars: integers plain, strings plain when they cannot be
  read as anything else, else double-quoted. An existing value keeps its quote style when the new
  value allows it.
- A document this cannot edit (no environment ``env``, overrides that are not a mapping, YAML it
  cannot compose) raises :class:`EditError` with a message naming the line; callers validate the
  document first, so this is rare. So does an edit whose bytes belong to a node another path shares
  through a YAML anchor (``staging: {overrides: &ov {...}}``, ``prod: {overrides: *ov}``; or a
  pinned value written ``&v 13`` and aliased elsewhere): PyYAML composes an alias as the very node of
  its anchor, so the edit would pin the other environments too (audit finding xpromote-5). The
  error names the anchor, its line and who shares it. A pinned value that is itself an alias
  (``key: *v``) is no such edit: the alias is replaced by the value.
Idempotence follows: editing the result again with the same pins returns it unchanged.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mlops_infra.spec.loader import for_libyaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_SAFE = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@+-]*(:[A-Za-z0-9_./@+-]+)*$")
_CORE_SPECIAL = re.compile(r"^(true|false|null|~|[-+]?(\.inf|\.nan|[0-9].*))$", re.I)


class EditError(Exception):
    """The document cannot be edited here (the message says where and why)."""


@dataclass(frozen=True)
class Pin:
    """One override the promotion sets: ``key`` (dotted override path) = ``value`` (a scalar)."""

    key: str
    value: int | str


@dataclass(frozen=True)
class Edit:
    """The result of an edit: the new text, the 1-based lines of the old text that changed or
    were followed by an insertion, and the keys whose value changed."""

    before: str
    after: str
    changed_keys: tuple[str, ...]
    region: tuple[int, int] | None = None
    """``(start, end)``: the part of ``before`` that was composed and edited (the ``environments``
    entry, or the whole text); everything outside it is the same in ``after``. None: unknown."""

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self, name: str, context: int = 2) -> str:
        """A unified diff of the edit (``a/NAME`` -> ``b/NAME``, ``context`` lines around each
        change), empty when nothing changed.

        The lines both texts start and end with are left out before the texts are compared (with
        ``context`` of them kept), and the hunk headers are moved back to the files' line numbers:
        a few changed lines of a large file cost in proportion to the lines between the first and
        the last change, not to the file."""
        if not self.changed:
            return ""
        old, new = self.before.splitlines(keepends=True), self.after.splitlines(keepends=True)
        head = 0
        while head < len(old) and head < len(new) and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < len(old) - head and tail < len(new) - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        skip, keep = max(0, head - context), max(0, tail - context)
        lines = difflib.unified_diff(old[skip:len(old) - keep], new[skip:len(new) - keep],
                                     f"a/{name.lstrip('/')}", f"b/{name.lstrip('/')}", n=context)
        out = []
        for line in lines:
            if skip and line.startswith("@@ "):
                line = _HUNK.sub(lambda m: f"{m[1]}{int(m[2]) + skip}", line)
            out.append(line if line.endswith("\n") else line + "\n")
        return "".join(out)


_HUNK = re.compile(r"([-+])(\d+)")
"""The start line of each range in a unified diff's hunk header (``@@ -12,5 +12,6 @@``)."""


def edit_overrides(text: str, env: str, pins: Sequence[Pin]) -> Edit:
    """``text`` with environment ``env`` pinning every pin (see the module contract).

    The document is composed once; every change is a span of the original text (a value replaced,
    or new entries inserted in one place), applied from the end backwards so spans stay valid.
    """
    start, end, env_node, root = _environment(text, env)
    whole, text = text, text[start:end]  # marks and spans below are relative to the composed part
    overrides = _value(env_node, "overrides")
    if overrides is not None and not _is_null(overrides) and not isinstance(overrides, yaml.MappingNode):
        line = _line_number(whole, start) + overrides.start_mark.line
        raise EditError(f"line {line}: the overrides of environment {env} are not a mapping")
    uses = _uses(root)
    if isinstance(overrides, yaml.MappingNode):
        _refuse_shared(whole, start, env, f"environments.{env}.overrides", overrides, uses)
    existing = {k.value: (k, v) for k, v in (overrides.value if isinstance(overrides, yaml.MappingNode) else ())
                if isinstance(k, yaml.ScalarNode)}
    operations: list[tuple[int, int, str]] = []
    added: list[str] = []
    changed: list[str] = []
    for pin in pins:
        key, node = existing.get(pin.key, (None, None))
        if node is None:
            added.append(f"{pin.key}: {format_scalar(pin.value)}")
        elif isinstance(node, yaml.ScalarNode) and _same_scalar(node, pin.value):
            continue
        else:
            if node.start_mark.index >= key.end_mark.index:  # written here (an alias is replaced, not its anchor)
                _refuse_shared(whole, start, env, f"environments.{env}.overrides.{pin.key}", node, uses)
            style = node.style if isinstance(node, yaml.ScalarNode) and node.style in ("'", '"') else ""
            operations.append((*_span(text, key, node), format_scalar(pin.value, style)))
        changed.append(pin.key)
    if added:
        operations.append(_insertion(text, env_node, overrides, added, _newline(whole)))
    result = text
    for at, until, new in sorted(operations, key=lambda op: (op[0], op[1]), reverse=True):
        result = result[:at] + new + result[until:]
    return Edit(whole, whole[:start] + result + whole[end:], tuple(changed), (start, end))


def format_scalar(value: int | str, style: str = "") -> str:
    """``value`` as a YAML 1.2 core scalar (see the module contract); ``style`` is the quote style
    of the value it replaces (``''``, ``"'"`` or ``'"'``)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"a pin is an integer or a string, not {type(value).__name__}: this is a bug in mlops-infra")
    if isinstance(value, int):
        return str(value)
    if style == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if style == "" and _PLAIN_SAFE.match(value) and not _CORE_SPECIAL.match(value):
        return value
    return json.dumps(value, ensure_ascii=False)


# -- new entries ---------------------------------------------------------------------------------


def _is_null(node: Any) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _insertion(text: str, env_node: yaml.MappingNode, overrides: Any, entries: list[str],
               nl: str) -> tuple[int, int, str]:
    """One operation ``(start, end, new text)`` adding ``entries`` to the environment's overrides
    (new lines end with ``nl``, the line ending of the file)."""
    if isinstance(overrides, yaml.MappingNode) and overrides.value:
        if overrides.flow_style:
            at = _span(text, *overrides.value[-1])[1]
            return at, at, "".join(", " + e for e in entries)
        indent = " " * overrides.value[0][0].start_mark.column
        at = _line_break(text, _span(text, *overrides.value[-1])[1])
        return at, at, "".join(nl + indent + e for e in entries)
    if isinstance(overrides, yaml.MappingNode):  # an empty flow mapping: {}
        at = overrides.start_mark.index + 1
        return at, at, ", ".join(entries)
    if overrides is not None:  # `overrides:` holding nothing (null)
        key = next(k for k, v in env_node.value if v is overrides)
        if env_node.flow_style:
            return overrides.start_mark.index, _content_end(text, overrides), "{" + ", ".join(entries) + "}"
        at = _line_break(text, key.end_mark.index)
        return at, at, "".join(nl + " " * (key.start_mark.column + 2) + e for e in entries)
    if env_node.flow_style:
        if not env_node.value:  # an empty flow mapping: {}
            at = env_node.start_mark.index + 1
            return at, at, "overrides: {" + ", ".join(entries) + "}"
        at = _span(text, *env_node.value[-1])[1]
        return at, at, ", overrides: {" + ", ".join(entries) + "}"
    column = env_node.value[0][0].start_mark.column
    at = _line_break(text, _span(text, *env_node.value[-1])[1])
    lines = [" " * column + "overrides:", *(" " * (column + 2) + e for e in entries)]
    return at, at, "".join(nl + line for line in lines)


def _same_scalar(node: yaml.ScalarNode, value: int | str) -> bool:
    if isinstance(value, int):
        return node.tag.endswith(":int") and node.value.isdigit() and int(node.value) == value
    return node.tag.endswith(":str") and node.value == value


# -- locating ------------------------------------------------------------------------------------


_ENVIRONMENTS_KEY = re.compile(r"""^(?:environments|"environments"|'environments')[ \t]*:(?=[ \t\r\n]|$)""", re.M)
_TOP_LEVEL_LINE = re.compile(r"^[^\s#]", re.M)


def _environment(text: str, env: str) -> tuple[int, int, yaml.MappingNode, yaml.Node]:
    """``(start, end, node, root)``: environment ``env``'s mapping node, composed from ``text[start:end]``
    (the ``environments`` entry alone when it can be cut out, else the whole text: module contract),
    and the root node of what was composed."""
    keys = list(_ENVIRONMENTS_KEY.finditer(text))
    if len(keys) == 1:
        start = keys[0].start()
        after = _TOP_LEVEL_LINE.search(text, keys[0].end())
        end = after.start() if after else len(text)
        try:
            root = yaml.compose(for_libyaml(text[start:end]), Loader=_Loader)
            node = _find_environment(root, env)
        except yaml.YAMLError:
            node = None  # e.g. an alias of an anchor defined before it: compose the whole text
        if node is not None:
            return start, end, node, root
    try:
        root = yaml.compose(for_libyaml(text), Loader=_Loader)
    except yaml.YAMLError as err:
        raise EditError(f"the document cannot be read as YAML: {err}") from None
    node = _find_environment(root, env)
    if node is None:
        raise EditError(f"the document has no environment {env} (a mapping under environments)")
    return 0, len(text), node, root


def _uses(root: Any) -> dict[int, list[str]]:
    """``id(node)`` -> the dotted paths at which the composed tree holds that node. PyYAML composes
    an alias (``*name``) as the very node of its anchor (``&name``), so a node held at two paths is
    written once and shared: editing its text changes every path."""
    found: dict[int, list[str]] = {}
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        seen = id(node) in found
        found.setdefault(id(node), []).append(path)
        if seen:  # its children were walked at its first path
            continue
        if isinstance(node, yaml.MappingNode):
            stack += [(v, f"{path}.{k.value}".lstrip(".")) for k, v in reversed(node.value)
                      if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node.value)))]
    return found


_ANCHOR = re.compile(r"&([^\s,\[\]{}]+)")


def _refuse_shared(whole: str, start: int, env: str, path: str, node: Any, uses: dict[int, list[str]]) -> None:
    """:class:`EditError` when the edit of ``env``'s ``path`` would change the text of ``node`` and
    ``node`` is an anchor another path uses too (audit finding xpromote-5: the pin would also change
    the environments sharing it, which pin their own registry's numbers). Named: the anchor, its
    line, and the environments (or paths) that share it."""
    others = [p for p in uses.get(id(node), ()) if p != path]
    if not others:
        return
    index = start + node.start_mark.index
    line = _line_number(whole, index)
    anchor = _ANCHOR.match(whole, index)
    name = f"&{anchor[1]}" if anchor else "an anchor"
    who = ", ".join(dict.fromkeys(f"environment {p.split('.')[1]}" if p.startswith("environments.") else p
                                  for p in others))
    own = "its own entries" if isinstance(node, yaml.MappingNode) else "its own value"
    raise EditError(f"line {line}: {path} shares the anchor {name} with {who}: a promotion into {env} would pin "
                    f"{who} too. Write {path} out ({own}, no anchor or alias), then promote again")


def _find_environment(root: Any, env: str) -> yaml.MappingNode | None:
    environments = _value(root, "environments") if isinstance(root, yaml.MappingNode) else None
    node = _value(environments, env) if isinstance(environments, yaml.MappingNode) else None
    return node if isinstance(node, yaml.MappingNode) else None


def _value(mapping: yaml.MappingNode, key: str) -> Any:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


_ALIAS_AFTER_KEY = re.compile(r"[ \t]*:[ \t]*(\*[^\s,\[\]{}]+)")


def _span(text: str, key: Any, value: Any) -> tuple[int, int]:
    """Where ``value``, the value of ``key``, is written: its node's span, or -- for an alias
    (``key: *name``), whose composed node is the anchored one, written elsewhere -- the alias."""
    if value.start_mark.index >= key.end_mark.index:
        return value.start_mark.index, _content_end(text, value)
    alias = _ALIAS_AFTER_KEY.match(text, key.end_mark.index)
    if alias is None:
        raise EditError(f"line {key.start_mark.line + 1}: cannot tell where the value of {key.value} is written "
                        "(an alias); write the value itself there")
    return alias.start(1), alias.end(1)


def _content_end(text: str, node: Any) -> int:
    """The index just after the last character that belongs to ``node`` (block collections end
    where the next token starts, so their last descendant decides; a block scalar ends at the
    start of the line after it)."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    end = node.end_mark.index
    while end > node.start_mark.index and text[end - 1] in " \t\r\n":
        end -= 1
    return end


_LINE_END = re.compile(r"\r\n|\r|\n")
"""A line break as YAML 1.2 reads one (section 5.4, [28] b-break: CR LF, CR or LF), as the loader does:
a CR-only file ("Mac OS 9" line endings) is read line by line (audit yamledge-5)."""


def _line_break(text: str, index: int) -> int:
    """Where the line holding ``index`` ends: its CR LF, CR or LF (the end of the text when it has none)."""
    found = _LINE_END.search(text, index)
    return found.start() if found else len(text)


def _newline(text: str) -> str:
    """The file's line ending: CR LF when it has one, CR when it has CRs and no LF, else LF."""
    if "\r\n" in text:
        return "\r\n"
    return "\r" if "\r" in text and "\n" not in text else "\n"


def _line_number(text: str, index: int) -> int:
    """1-based line of ``text[index]``, lines ending as :data:`_LINE_END` says."""
    return text.count("\n", 0, index) + text.count("\r", 0, index) - text.count("\r\n", 0, index) + 1
