"""Load one MLSystem YAML document safely, with source positions for every node.

Contract:
- Only safe YAML: no Python tags, no custom constructors. YAML 1.2 core scalars (``yes``/``no``
  stay strings), duplicate keys are errors, alias expansion is bounded (alias bombs fail fast),
  files over :data:`MAX_BYTES` are refused before parsing (bytes are counted as they are read, so a
  device such as ``/dev/zero`` stops at the limit).
- One YAML path (the decision of issue 11 item 9): data is parsed by yaml-rs only (Rust, YAML 1.2;
  several times faster than libyaml through PyYAML on the 1,000-endpoint document, see
  benchmarks/bench_yaml_parsers.py, and PyYAML alone would read YAML 1.1, where ``on``/``yes`` are
  booleans). yaml-rs has no positions, so libyaml's composer (through PyYAML) is the *index* of where
  each node was written: built lazily when :meth:`LoadedDocument.locate` is called, first only for
  the top-level section or sequence item holding the path (:mod:`mlops_infra.spec.source_sections`:
  one warning on one cluster of the 1,000-endpoint document composed all of it, as long as
  ``validate`` itself), and used for the exact checks behind cheap text candidates (tags, ``<<``, deep nesting, the alias and
  duplicate-key marks). Keys are looked up in that index as yaml-rs reads them (:func:`core_value`:
  ``1_000``, ``0b101``, ``0x1F`` are numbers there), so every node of the data has its own position
  (tests/cli/test_redteam_yaml.py).
- Problems are returned as diagnostics, never raised. ``load_document`` returns ``None`` as the
  document when nothing usable could be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

import yaml_rs

from mlops_infra.diagnostics import Diagnostic, Path, SourceLocation, error, printable, with_location
from mlops_infra.fileio import TooLarge, read_limited

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 16 * 1024 * 1024
"""Largest document accepted (16 MiB, about 500,000 lines): room for the 10,000-endpoint system the
scale target of issue 14 names (the benchmark's generated document is 8,549,840 bytes), still a
bound on what a device or endless pipe can make the loader read (red-team H1/H5)."""

MAX_ALIAS_EVENTS = 200_000
"""Most YAML events that alias expansion may replay before the document is refused."""

MAX_DEPTH = 64
"""Deepest nesting of collections accepted (an MLSystem document nests about 8 levels).

Beyond being useless, deep nesting is dangerous: yaml-rs recurses once per block level and
overflows the process stack (SIGSEGV, no error at all) near 30,000 levels of ``- - - ...``, a
60 KB file; libyaml stops at 1,000 levels; Python's own recursion limit is 1,000.
"""

_DEEP_LINE = re.compile(rf"\n[ \t?:-]{{{MAX_DEPTH}}}")
_DEEP_START = re.compile(rf"[ \t?:-]{{{MAX_DEPTH}}}")
_DEEP_LINE_CR = re.compile(rf"\r[ \t?:-]{{{MAX_DEPTH}}}")
"""A line that starts with MAX_DEPTH indentation or block indicator characters.

Every level of block nesting moves its node right by at least one column, either on a new line
(indentation) or on the same line (``- ``, ``? ``, ``: ``), so a document without such a line
nests fewer than MAX_DEPTH block levels; flow nesting (``[[[``) is cut by yaml-rs itself at 256
levels with a clean error. A document with such a line (a deep block scalar is enough) is measured
exactly by libyaml's event stream before yaml-rs sees it. The search costs about a millisecond
per megabyte (its first character is a literal)."""


def __getattr__(name: str) -> Any:
    """``loader.yaml`` is PyYAML, imported on first use like in the functions below."""
    if name == "yaml":
        import yaml

        return yaml
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _loader() -> Any:
    """libyaml's safe loader (PyYAML's pure-Python one where libyaml is missing). PyYAML is imported
    in the functions that use it: a clean load never does (yaml-rs parses the data)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LoadedDocument:
    """A parsed document: its data and a way to find where any node came from.

    ``name`` is the file name shown in diagnostics. ``redirects`` maps a path in ``data`` to a path
    in the raw document (used when environment overrides put a value somewhere it was not written).
    ``raw_indexes`` is set when ``data`` is a pruned copy (the valid part of an invalid document):
    section -> the raw index of each item kept, so item ``i`` of ``data[section]`` is item
    ``raw_indexes[section][i]`` of the raw document.
    """

    name: str
    text: str
    data: Any
    redirects: dict[Path, Path] = field(default_factory=dict)
    raw_indexes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    _positions: dict[Path, tuple[int, int]] | None = field(default=None, repr=False)
    _lines: list[str] | None = field(default=None, repr=False)
    _pieces: _PieceIndex | None = field(default=None, repr=False)

    def with_data(self, data: Any, redirects: dict[Path, Path]) -> LoadedDocument:
        """The same source with other data (an environment's effective document)."""
        doc = LoadedDocument(self.name, self.text, data, dict(redirects), self.raw_indexes)
        doc._positions, doc._lines = self._positions, self._lines
        doc._pieces = self._piece_index()  # shared: what one document composed, the other reuses
        return doc

    def pruned(self, data: Any, raw_indexes: dict[str, tuple[int, ...]]) -> LoadedDocument:
        """The same source with a pruned copy of its data (items left out; see ``raw_indexes``)."""
        doc = self.with_data(data, {})
        doc.raw_indexes = dict(raw_indexes)
        return doc

    @property
    def positions(self) -> dict[Path, tuple[int, int]]:
        if self._positions is None:
            self._positions = _compose_positions(self.text)
        return self._positions

    def source_line(self, line: int) -> str:
        """The text of 1-based ``line`` (without its newline), or '' when out of range; control
        characters are shown as escapes (:func:`~mlops_infra.diagnostics.printable`)."""
        if self._lines is None:
            self._lines = split_lines(self.text)
        return printable(self._lines[line - 1], lines=False) if 0 < line <= len(self._lines) else ""

    def raw_path(self, path: Path) -> Path:
        """Translate a path in ``data`` to the raw document path it was written at."""
        for cut in range(len(path), 0, -1):
            target = self.redirects.get(path[:cut])
            if target is not None:
                return target  # the override value as a whole is what was written
        if self.raw_indexes and len(path) > 1 and isinstance(path[1], int):
            kept = self.raw_indexes.get(str(path[0]))
            if kept is not None and 0 <= path[1] < len(kept):
                return (path[0], kept[path[1]], *path[2:])
        return path

    def locate(self, path: Path) -> SourceLocation:
        """Where ``path`` (or its nearest written ancestor) is in the file.

        Before the whole text is composed, a path is looked up in its top-level section (or the
        item of a sequence section) composed alone (:class:`_PieceIndex`); the answer is the same,
        and a warning on one cluster of the 1,000-endpoint document no longer composes all of it. A key
        of a sequence item whose plain value is on its line is read from the item's lines when they
        settle it (:func:`~mlops_infra.spec.source_sections.entry_value_at`, the composer's answer):
        nothing composed, PyYAML not imported. Pieces
        also answer when the whole text does not compose (libyaml refuses what yaml-rs reads, such as a
        tab after ``-``): every path whose piece composes gets its line, whichever was located first."""
        raw = self.raw_path(tuple(path))
        normalized = tuple(p if isinstance(p, int) else str(p) for p in raw)
        if not self._positions:  # not composed yet, or the whole text does not compose
            scoped = self._piece_index().positions_for(normalized)
            if scoped is not None:
                for cut in range(len(normalized), 0, -1):
                    pos = scoped.get(normalized[:cut])
                    if pos is not None:
                        return SourceLocation(self.name, pos[0], pos[1])
        positions = self.positions
        for cut in range(len(normalized), -1, -1):
            pos = positions.get(normalized[:cut])
            if pos is not None:
                return SourceLocation(self.name, pos[0], pos[1])
        return SourceLocation(self.name, 1, 1)

    def forget_lines(self) -> None:
        """Drop what this document keeps from its text to place diagnostics: the list of its lines
        (:meth:`source_line`), the pieces cut and composed (:meth:`locate`) and the whole text's
        positions. Each is made again from the text when asked, with the same answers (the parsed
        keys the cut is checked against are kept). For a caller done printing diagnostics that keeps
        the document for later ones (a failing guardrail, a Kubernetes preflight): a line list holds a
        string per line, and the cut another (``plan --state`` holds the document while it reads the
        state and compiles the graph: memory at 10,000 endpoints, ``benchmarks/bench_cli.py``)."""
        self._lines = None
        self._positions = None
        if self._pieces is not None:
            self._pieces = _PieceIndex(self.text, self._pieces._keys)

    def _piece_index(self) -> _PieceIndex:
        if self._pieces is None:
            self._pieces = _PieceIndex(self.text, None)  # the parsed keys unknown: never cut
        return self._pieces

    def attach(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Attach locations to diagnostics that have none; a "must be text" fix then quotes the number
        as written there (:func:`mlops_infra.spec.as_written.as_written`)."""
        return [d if d.location else self._as_written(with_location(d, self.locate(d.path))) for d in diagnostics]

    def _as_written(self, diagnostic: Diagnostic) -> Diagnostic:
        if diagnostic.code != "wrong-type" or diagnostic.location is None:
            return diagnostic
        from mlops_infra.spec.as_written import as_written

        if self._lines is None:
            self._lines = split_lines(self.text)
        line = diagnostic.location.line
        raw = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        return as_written(diagnostic, raw, _plain_scalar)


_PLAIN_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]|$)")
_CORE_WORDS = frozenset({"true", "false", "null"})
"""Plain keys yaml-rs reads as something other than their text (:func:`core_value`)."""


class _PieceIndex:
    """Positions of a document's pieces, each composed alone and only when asked for
    (:mod:`mlops_infra.spec.source_sections`). The cut is used only when it has one section per
    top-level key of the parsed data (``keys``, as yaml-rs read them, in order; None: not known, no
    cut) and each plain key line names the key parsed at its place; a piece only when it composes to
    what its cut promises (a mapping of one key, the key asked for; a sequence of one item).
    Otherwise :meth:`positions_for` answers None and the caller composes the whole text."""

    def __init__(self, text: str, keys: list[str] | None) -> None:
        self._text = text
        self._keys = keys
        self._sections: Any = None  # source_sections.Sections | False (not cut) | None (not yet)
        self._by_key: dict[str, int] = {}
        self._done: dict[tuple[int, int | None], dict[Path, tuple[int, int]] | None] = {}

    def positions_for(self, path: Path) -> dict[Path, tuple[int, int]] | None:
        """Positions holding ``path`` and its ancestors down to its top-level key, or None."""
        if not path or not isinstance(path[0], str):
            return None
        sections = self._cut()
        index = self._by_key.get(path[0]) if sections else None
        if index is None:
            return None
        items = sections.items(index) if len(path) > 1 and isinstance(path[1], int) else None
        if items is not None and 0 <= path[1] < len(items):
            if len(path) == 3 and isinstance(path[2], str) and (index, path[1]) not in self._done:
                from mlops_infra.spec.source_sections import entry_value_at

                at = entry_value_at(sections.lines, items[path[1]], path[2])
                if at is not None:  # the composer's answer, read from the lines (no PyYAML import)
                    return {path: at}
            found = self._compose(index, path[1], items[path[1]], path[0])
            if found is not None:
                return found
        return self._compose(index, None, sections.sections[index], path[0])

    def _cut(self) -> Any:
        if self._sections is None:
            from mlops_infra.spec import source_sections

            cut = source_sections.cut(self._text) if self._keys is not None else None
            if cut is None or len(cut.sections) != len(self._keys):
                self._sections = False
                return False
            for index, (piece, parsed) in enumerate(zip(cut.sections, self._keys, strict=True)):
                match = _PLAIN_KEY.match(cut.lines[piece.start])
                if match and match.group(1).lower() not in _CORE_WORDS:
                    if match.group(1) != parsed:
                        self._sections = False  # the cut is not the document's sections
                        self._by_key.clear()
                        return False
                    self._by_key[parsed] = index
            self._sections = cut
        return self._sections

    def _compose(self, index: int, item: int | None, piece: Any, key: str) -> dict[Path, tuple[int, int]] | None:
        if (index, item) in self._done:
            return self._done[(index, item)]
        import yaml

        root = _compose_root(self._sections.text(piece))
        found = None
        if item is None:
            if (isinstance(root, yaml.MappingNode) and len(root.value) == 1
                    and key_text(root.value[0][0]) == key):
                found = _node_positions(root, piece.start)
        elif isinstance(root, yaml.SequenceNode) and len(root.value) == 1:
            inner = _node_positions(root, piece.start)
            found = {(key, item, *sub[1:]): at for sub, at in inner.items() if sub}
            head = self._sections.sections[index].start + 1  # a collection under a key: the key's line
            found[(key,)] = found[(key, "[key]")] = (head, 1)
        self._done[(index, item)] = found
        return found


class _BinaryHead(Exception):
    def __init__(self, head: bytes) -> None:
        super().__init__("binary")
        self.head = head


def _refuse_binary_head(head: bytes) -> None:
    """A NUL byte in the first 64 KiB of a device or pipe: binary, said at once (``validate /dev/zero``
    read 16 MiB first and said "too large": audit robust, "also seen"); :func:`decode_source` words it
    from the head alone. A regular file keeps its order (a file over the limit is "too large" by its
    size, whatever its head holds; a smaller one is read whole and its first NUL's line named)."""
    if b"\x00" in head:
        raise _BinaryHead(head)


def read_source(path: str | FsPath) -> tuple[str | None, list[Diagnostic]]:
    """Read a file as UTF-8 text, refusing missing, oversized, binary and non-UTF-8 files."""
    p = FsPath(path)
    name = str(path)
    if not p.exists():
        return None, [_at(name, 1, error("file-not-found", f"No such file: {name}",
                                         "Check the path; it is relative to the current directory."))]
    if p.is_dir():
        return None, [_at(name, 1, error("not-a-file", f"{name} is a directory",
                                         "Pass the path of an MLSystem YAML file."))]
    try:  # counts bytes read: a device or endless pipe stops at the limit, or at once when its head is binary
        raw = read_limited(p, MAX_BYTES, check_head=None if p.is_file() else _refuse_binary_head)
    except _BinaryHead as binary:
        return decode_source(binary.head, name)
    except TooLarge:
        size = p.stat().st_size
        shown = f" ({size:,} bytes)" if size > MAX_BYTES else f" (more than {MAX_BYTES:,} bytes read)"
        return None, [_at(name, 1, error(
            "file-too-large", f"File is too large{shown}",
            f"An MLSystem document may be at most {MAX_BYTES:,} bytes. Split the system or remove "
            "generated content."))]
    return decode_source(raw, name)


_WIDE_ENCODINGS = (  # YAML 1.2.2 section 5.2, the encoding detection table; UTF-32 first: FF FE 00 00 starts both
    # (byte order mark, what the file is, iconv's name for it: with a BOM, iconv reads the order from it and drops it)
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian, with a byte order mark)", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian, with a byte order mark)", "UTF-32"),
    (b"\xff\xfe", "UTF-16 (little-endian, with a byte order mark)", "UTF-16"),
    (b"\xfe\xff", "UTF-16 (big-endian, with a byte order mark)", "UTF-16"),
)
# compiled when first used (re's cache), not at import: an ASCII first character with its zero bytes
_WIDE_WITHOUT_BOM = (  # without a BOM iconv must be told the byte order: glibc's UTF-16 and UTF-32 then assume big-endian
    (rb"\x00\x00\x00[\x09\x0a\x0d\x20-\x7e]", "UTF-32 (big-endian)", "UTF-32BE"),
    (rb"[\x09\x0a\x0d\x20-\x7e]\x00\x00\x00", "UTF-32 (little-endian)", "UTF-32LE"),
    (rb"\x00[\x09\x0a\x0d\x20-\x7e]", "UTF-16 (big-endian)", "UTF-16BE"),
    (rb"[\x09\x0a\x0d\x20-\x7e]\x00", "UTF-16 (little-endian)", "UTF-16LE"),
)


def _wide_encoding(raw: bytes) -> tuple[str, str] | None:
    """The UTF-16 or UTF-32 encoding ``raw`` starts as (YAML 1.2.2 section 5.2: a byte order mark, or
    an ASCII first character and its zero bytes) and iconv's name for it, or None. A byte order mark with
    nothing after it holds no text to name an encoding by: it stays "not valid UTF-8". The iconv name is
    the one that converts this file (review44-rest-1: ``-f UTF-16`` for every wide file garbled the UTF-32
    ones and a big-endian UTF-16 file without a BOM)."""
    for bom, encoding, iconv in _WIDE_ENCODINGS:
        if raw.startswith(bom) and len(raw) > len(bom):
            return encoding, iconv
    for pattern, encoding, iconv in _WIDE_WITHOUT_BOM:
        if re.match(pattern, raw):
            return encoding, iconv
    return None


def decode_source(raw: bytes, name: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode bytes as UTF-8 text (a BOM is allowed), with a diagnostic on binary input.

    UTF-16 and UTF-32 (which YAML 1.2.2 section 5.2 lets a document use) are refused by name, with
    the fix (audit yamledge-3; they were called "binary", for their zero bytes): Windows PowerShell
    5.1's ``>`` is ``Out-File``, which writes UTF-16LE with a BOM
    (https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_character_encoding?view=powershell-5.1;
    https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/out-file). They are not
    read: ``promote --write`` writes the file back as UTF-8, and Git and review tools show a UTF-16
    file as binary, so one encoding keeps the file reviewable."""
    wide = _wide_encoding(raw)
    if wide is not None:
        wide, iconv = wide
        return None, [_at(name, 1, error(
            "not-utf8", f"File is {wide}, not UTF-8",
            "An MLSystem document is UTF-8 text. Save it as UTF-8: Windows PowerShell 5.1 writes UTF-16 with `>` "
            "and Out-File; use `Out-File -Encoding utf8` or `Set-Content -Encoding utf8` there (PowerShell 7 "
            f"writes UTF-8), or convert the file: `iconv -f {iconv} -t UTF-8 in.yaml > mlsystem.yaml`."))]
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        return None, [_at(name, line, error(
            "binary-file", "File is binary, not YAML text",
            "An MLSystem document is UTF-8 YAML text. Check that you passed the right file."))]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [_at(name, line, error(
            "not-utf8", f"File is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            "Save the file as UTF-8. Other encodings (Latin-1, UTF-16) are not supported."), col)]
    return text, []


def load_document(path: str | FsPath) -> tuple[LoadedDocument | None, list[Diagnostic]]:
    """Read and parse ``path``; see :func:`parse_document`."""
    text, diags = read_source(path)
    if text is None:
        return None, diags
    return parse_document(text, str(path))


def parse_document(text: str, name: str = "<string>") -> tuple[LoadedDocument | None, list[Diagnostic]]:
    """Parse YAML text into a :class:`LoadedDocument` (one mapping document)."""
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_BYTES:
        return None, [_at(name, 1, error("file-too-large", "Document is too large",
                                         f"An MLSystem document may be at most {MAX_BYTES:,} bytes."))]
    unprintable = _unprintable_characters(text, encoded, name)
    if unprintable:
        return None, unprintable
    if _only_comments(text):
        return None, [_at(name, 1, error(
            "empty-document", "The document is empty",
            "Start with:\n  apiVersion: mlops-infra/v1\n  kind: MLSystem\n  metadata: {name: my-system}"))]
    if _maybe_deep(text):
        deep = _nesting_problem(text, name)
        if deep is not None:
            return None, [deep]
    try:
        data = yaml_rs.loads(
            text,
            parse_datetime=False,
            duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
            alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=MAX_ALIAS_EVENTS),
        )
    except yaml_rs.YAMLDecodeError as exc:
        return None, _unsupported_tags(text, name) or [_syntax_diagnostic(text, name, str(exc))]
    tags = _unsupported_tags(text, name) + _merge_keys(text, name)
    if tags:
        return None, tags
    if isinstance(data, list) and _count_documents(text) > 1:
        return None, [_at(name, 1, error("multiple-documents", "The file holds more than one YAML document",
                                         "Put one MLSystem per file; remove the extra `---` sections."))]
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}" if data is not None else "empty"
        return None, [_at(name, 1, error(
            "root-not-mapping", f"The document root is {kind}, not a mapping",
            "An MLSystem document is a mapping with apiVersion, kind, metadata and sections such as endpoints."))]
    doc = LoadedDocument(name, text, data)
    doc._pieces = _PieceIndex(text, [str(key) for key in data])
    return doc, []


_PRINTABLE_ASCII = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F)])
_HIGH_BYTES = bytes(range(0x80, 0x100))
# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_UNPRINTABLE_UTF8 = rb"\xc2[\x80-\x84\x86-\x9f]|\xef\xbf[\xbe\xbf]"
_UNPRINTABLE = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]"
"""Characters outside YAML 1.2's c-printable (section 5.1, https://yaml.org/spec/1.2.2/#51-character-set:
``x09 | x0A | x0D | [x20-x7E] | x85 | [xA0-xD7FF] | [xE000-xFFFD] | [x10000-x10FFFF]``; surrogates
cannot be in a decoded ``str``): C0 controls other than tab and the line breaks, DEL, the C1 controls
other than NEL, U+FFFE and U+FFFF."""
_ESCAPES = {0x00: "\\0", 0x07: "\\a", 0x08: "\\b", 0x0B: "\\v", 0x0C: "\\f", 0x1B: "\\e"}
_CONTROL_NAMES = {0x00: "NUL", 0x07: "bell", 0x08: "backspace", 0x0B: "vertical tab", 0x0C: "form feed",
                  0x1B: "escape", 0x7F: "delete"}


def _unprintable_characters(text: str, encoded: bytes, name: str) -> list[Diagnostic]:
    """One diagnostic per character outside YAML 1.2's printable set (:data:`_UNPRINTABLE`), at its
    own line and column (at most 20).

    YAML 1.2 does not allow them unescaped, and the two parsers disagree on them (audit yamledge-1):
    yaml-rs reads them as content, libyaml (the index of positions) refuses the text ("special
    characters are not allowed"), so every diagnostic of the document lost its line. The search is
    C-level on the UTF-8 bytes the size check made: ``bytes.translate`` drops printable ASCII, and what
    is left (nothing, for an ASCII document) is the non-ASCII bytes and the ASCII controls."""
    rest = encoded.translate(None, _PRINTABLE_ASCII)
    if not rest or (not rest.translate(None, _HIGH_BYTES) and not re.search(_UNPRINTABLE_UTF8, rest)):
        return []
    found = []
    for match in re.finditer(_UNPRINTABLE, text):
        code = ord(match.group())
        line, column = _line_column(text, match.start())
        what = f"U+{code:04X}" + (f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else "")
        escape = _ESCAPES.get(code) or (f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}")
        found.append(_at(name, line, error(
            "control-character", f"Control character {what} in the document",
            "YAML 1.2 allows only printable characters in a document (tab and line breaks aside), and this one "
            "is invisible in most editors (a terminal's colour codes or a PDF often bring them). Delete it, or "
            f"inside a double-quoted string write it as the escape {escape}."), column))
        if len(found) == 20:
            break
    return found


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``, lines broken at CR LF, CR and LF only (YAML 1.2
    section 5.4: b-char is LF or CR; editors count lines the same way)."""
    breaks = text.count("\n", 0, index) + text.count("\r", 0, index) - text.count("\r\n", 0, index)
    start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    return breaks + 1, index - start + 1


def split_lines(text: str) -> list[str]:
    """``text``'s lines, broken at CR LF, CR and LF only (YAML 1.2 section 5.4; ``str.splitlines``
    also breaks at NEL, LS, PS and the C0 separators, which are content in YAML 1.2, so a snippet
    would be another line than the one named). ``str.splitlines`` when the text has none of them
    (:func:`parse_document` refuses the C0 ones), else a regex split."""
    if _has_content_breaks(text) or any(c in text for c in "\x0b\x0c\x1c\x1d\x1e"):
        return re.split("\r\n|\r|\n", text)
    return text.splitlines()


_YAML11_BREAKS = str.maketrans(dict.fromkeys("\x85\u2028\u2029", "\ufffd"))


def for_libyaml(text: str) -> str:
    """``text`` as libyaml must read it to agree with yaml-rs on lines: NEL, LS and PS (line breaks in
    YAML 1.1, which libyaml reads; content in YAML 1.2 section 5.4, which yaml-rs reads) each replaced
    by U+FFFD, so every node keeps its line, column and index (audit yamledge-1). The text itself when
    it has none (three ``in`` tests; LS and PS cost nothing in a Latin-1 text)."""
    return text.translate(_YAML11_BREAKS) if _has_content_breaks(text) else text


def _has_content_breaks(text: str) -> bool:
    return "\x85" in text or "\u2028" in text or "\u2029" in text


def _only_comments(text: str) -> bool:
    """Whether every line of ``text`` (as ``str.splitlines`` cuts them) is blank or a comment. The
    first few KiB decide for any real document (a partial last line counts only when its first
    character that is not whitespace is in it); the whole text is split only when they do not."""
    if not text.strip():
        return True
    if any(ln.strip() and not ln.lstrip().startswith("#") for ln in text[:4096].splitlines()):
        return False
    return all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines())


SAFE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map"))
"""Explicit tags a document may use (the YAML core schema); anything else is refused."""

# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_TAG_CANDIDATE = r"(?m)(?:^|[\s\[{,:?-])!"


def _unsupported_tags(text: str, name: str) -> list[Diagnostic]:
    """Explicit tags outside the core schema (``!!python/...``, ``!custom``), one diagnostic each.

    yaml-rs ignores unknown tags on collections, so they are looked for here: a cheap regex first,
    and libyaml's event stream (exact) only when it finds a candidate.
    """
    if "!" not in text or not re.search(_TAG_CANDIDATE, text):
        return []
    import yaml

    found = []
    try:
        for event in yaml.parse(for_libyaml(text), Loader=_loader()):
            tag = getattr(event, "tag", None)
            if tag and tag not in SAFE_TAGS and tag != "!":
                mark = event.start_mark
                found.append(_at(name, mark.line + 1, error(
                    "unsupported-tag", f"Unsupported YAML tag {tag.replace('tag:yaml.org,2002:', '!!')}",
                    "MLSystem documents are plain data: remove the tag. Tags that construct objects "
                    "(such as !!python/...) are never executed.", ), mark.column + 1))
    except yaml.YAMLError:
        return []
    return found[:20]


def _merge_keys(text: str, name: str) -> list[Diagnostic]:
    """``<<`` merge keys, one diagnostic each: YAML 1.2 has none, so ``<<`` would be an ordinary key."""
    if "<" not in text or "<<" not in text:  # one character is a memchr: most documents have no "<"
        return []
    import yaml

    found = []
    try:
        stack = [yaml.compose(for_libyaml(text), Loader=_loader())]
    except yaml.YAMLError:
        return []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "<<" and key.style in ("", None):
                    found.append(_at(name, key.start_mark.line + 1, error(
                        "merge-key", "YAML merge keys (<<) are not supported",
                        "MLSystem documents are YAML 1.2, which has no merge key (<<: *anchor is a YAML 1.1 "
                        "extension), so this would be read as a field called \"<<\". Write the fields out, or "
                        "alias a whole value instead (replicas: *default-replicas)."), key.start_mark.column + 1))
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(found, key=Diagnostic.sort_key)[:20]


def _maybe_deep(text: str) -> bool:
    """Whether ``text`` may nest MAX_DEPTH block levels (see :data:`_DEEP_LINE`)."""
    return bool(_DEEP_START.match(text) or _DEEP_LINE.search(text)
                or ("\r" in text and _DEEP_LINE_CR.search(text)))


def _nesting_problem(text: str, name: str) -> Diagnostic | None:
    """A diagnostic at the first collection nested deeper than MAX_DEPTH, or at libyaml's own
    syntax error; None when the document nests no deeper than MAX_DEPTH."""
    import yaml
    depth = 0
    try:
        for event in yaml.parse(for_libyaml(text), Loader=_loader()):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return _at(name, mark.line + 1, error(
                        "nesting-too-deep", f"The document nests more than {MAX_DEPTH} levels deep",
                        f"An MLSystem document nests about 8 levels; at most {MAX_DEPTH} are read. Check the "
                        "indentation here, or remove the generated content."), mark.column + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        return _marked_syntax_diagnostic(name, exc, str(exc))
    except yaml.YAMLError:
        return None  # not a syntax error with a position (a ReaderError): yaml-rs's own account is used
    return None


def _count_documents(text: str) -> int:
    import yaml
    return sum(1 for _ in yaml.compose_all(for_libyaml(text), Loader=_loader()))


# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_RS_POSITION = r"line (\d+), column (\d+)"


def _syntax_diagnostic(text: str, name: str, message: str) -> Diagnostic:
    """Turn a parser failure into a diagnostic, preferring libyaml's well-known wording."""
    import yaml
    first = message.splitlines()[0] if message else "invalid YAML"
    if "duplicate mapping key" in first:
        return _duplicate_key(text, name, first)
    if "alias" in first and ("limit" in first or "replay" in first):
        line, column = _alias_bomb_mark(text)
        return _at(name, line, error(
            "alias-limit", "Too many alias expansions (possible alias bomb)",
            f"YAML anchors and aliases may expand to at most {MAX_ALIAS_EVENTS:,} nodes; expanding this "
            "alias goes past that. Write the repeated content out, or reduce nesting of aliases."), column)
    deep = _nesting_problem(text, name)
    if deep is not None:
        return deep
    try:
        yaml.compose(for_libyaml(text), Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        return _marked_syntax_diagnostic(name, exc, first)
    except yaml.YAMLError:
        pass
    match = re.search(_RS_POSITION, message)
    detail_lines = [ln for ln in message.splitlines()[1:] if ln.strip() and not ln.lstrip().startswith(("|", "^"))]
    problem = detail_lines[-1].strip() if detail_lines else first
    diag = error("yaml-syntax", f"YAML syntax error: {problem}", "Fix the YAML syntax at this position.")
    if match:
        return _at(name, int(match.group(1)), diag, int(match.group(2)))
    return _at(name, 1, diag)


def _marked_syntax_diagnostic(name: str, exc: yaml.MarkedYAMLError, fallback: str) -> Diagnostic:
    """libyaml's account of a syntax error, at its position."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or fallback
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    if "nesting depth" in problem:
        return _at(name, mark.line + 1 if mark else 1, error(
            "nesting-too-deep", f"The document nests more than {MAX_DEPTH} levels deep",
            f"An MLSystem document nests about 8 levels; at most {MAX_DEPTH} are read. Check the indentation "
            "here, or remove the generated content."), mark.column + 1 if mark else 1)
    diag = error("yaml-syntax", f"YAML syntax error: {problem}{context}",
                 "Fix the YAML syntax at this position. Common causes: a missing space after ':', "
                 "unbalanced brackets or quotes, or tabs used for indentation.")
    return _at(name, mark.line + 1 if mark else 1, diag, mark.column + 1 if mark else 1)


def _alias_bomb_mark(text: str) -> tuple[int, int]:
    """1-based (line, column) of the alias whose expansion passes MAX_ALIAS_EVENTS.

    Replays libyaml's events once: every event counts one, an alias counts the events of its
    anchor's node (aliases inside that node already counted in), so the sizes stay numbers and
    the bomb is never expanded.
    """
    import yaml
    sizes: dict[str, int] = {}
    open_anchors: list[tuple[str, int]] = []
    expanded = replayed = 0
    try:
        for event in yaml.parse(for_libyaml(text), Loader=_loader()):
            if isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor, 1)
                expanded += size
                replayed += size
                if replayed > MAX_ALIAS_EVENTS:
                    return event.start_mark.line + 1, event.start_mark.column + 1
                continue
            expanded += 1
            anchor = getattr(event, "anchor", None)
            if isinstance(event, yaml.CollectionStartEvent):
                open_anchors.append((anchor or "", expanded - 1))
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor_name, start = open_anchors.pop()
                if anchor_name:
                    sizes[anchor_name] = expanded - start
            elif anchor:
                sizes[anchor] = 1
    except yaml.YAMLError:
        pass
    return 1, 1


def _duplicate_key(text: str, name: str, message: str) -> Diagnostic:
    import yaml
    key = message.split(":", 1)[1].strip().strip("'\"") if ":" in message else ""
    line, col = 1, 1
    try:
        node = yaml.compose(for_libyaml(text), Loader=_loader())
        found = _find_duplicate(node, key)
        if found is not None:
            line, col = found.line + 1, found.column + 1
    except yaml.YAMLError:
        pass
    return _at(name, line, error(
        "duplicate-key", f'Duplicate key "{key}"',
        "A key may appear only once in a mapping; the second one would silently replace the first. "
        "Remove or rename one of them."), col)


def _find_duplicate(node: Any, key: str) -> Any:
    import yaml
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen = set()
            for k, v in current.value:
                kv = getattr(k, "value", None)
                if kv in seen and str(kv) == key:
                    return k.start_mark
                seen.add(kv)
                stack.append(v)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
"""A YAML escape of a UTF-16 surrogate (``\\ud83d``): yaml-rs pairs them, libyaml refuses them."""


def _compose_positions(text: str) -> dict[Path, tuple[int, int]]:
    """Map every path to the 1-based (line, column) of its node.

    Scalars map to their value; collections under a key map to the key (the line a reader looks
    at). Aliases are not followed, so an alias bomb cannot blow this up.
    """
    root = _compose_root(text)
    return {} if root is None else _node_positions(root)


def _compose_root(text: str) -> Any:
    """libyaml's node tree of ``text``, or None when it does not compose."""
    import yaml
    text = for_libyaml(text)
    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError:
        # libyaml refuses the UTF-16 surrogate escapes yaml-rs reads as one character ("\ud83d\ude00"
        # is an emoji there): with each replaced by an escape of the same length, every node keeps its
        # line and column (without this, every diagnostic of such a document pointed at line 1)
        safe = re.sub(_SURROGATE_ESCAPE, r"\\uFFFD", text)
        try:
            root = yaml.compose(safe, Loader=_loader()) if safe != text else None
        except yaml.YAMLError:
            root = None
    return root


def _node_positions(root: Any, line_offset: int = 0) -> dict[Path, tuple[int, int]]:
    """:func:`_compose_positions` of a composed tree whose first line is line ``line_offset`` + 1."""
    import yaml
    positions: dict[Path, tuple[int, int]] = {}
    positions[()] = (root.start_mark.line + 1 + line_offset, root.start_mark.column + 1)
    stack: list[tuple[Any, Path]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key_text(key))
                mark = value.start_mark if isinstance(value, yaml.ScalarNode) else key.start_mark
                positions.setdefault(child, (mark.line + 1 + line_offset, mark.column + 1))
                positions.setdefault((*child, "[key]"), (key.start_mark.line + 1 + line_offset,
                                                         key.start_mark.column + 1))
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                positions.setdefault(child, (item.start_mark.line + 1 + line_offset, item.start_mark.column + 1))
                stack.append((item, child))
    return positions


_STR_TAG = "tag:yaml.org,2002:str"


@cache
def _resolver() -> Any:
    import yaml

    return yaml.resolver.Resolver()

# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_PLAIN_WORD = r"[A-Za-z][A-Za-z0-9_/.-]*"
_SPECIAL_WORDS = frozenset({"null", "true", "false", "inf", "nan"})


def core_value(node: Any) -> Any:
    """The value yaml-rs gives a node (for keys), so that the position index and the data agree.

    libyaml's composer resolves plain scalars by YAML 1.1 rules; data comes from yaml-rs, which
    reads the YAML 1.2 core schema plus a few number forms of its own (``1_000``, ``0b101``,
    ``-0x1F`` are numbers there). A plain scalar that is a word (most keys) is text in both; any
    other plain scalar is resolved by yaml-rs itself, so a key is found whatever yaml-rs makes of it:
    ``0x1F`` is 31, ``~`` is None, ``[a, b]`` (a complex key) is the tuple yaml-rs makes of it.
    """
    import yaml
    if isinstance(node, yaml.SequenceNode):
        return tuple(core_value(item) for item in node.value)
    if isinstance(node, yaml.MappingNode):
        return frozenset((core_value(k), core_value(v)) for k, v in node.value)
    text = node.value
    if node.style not in ("", None) or (node.tag == _STR_TAG and _resolver().resolve(
            yaml.ScalarNode, text, (True, False)) != _STR_TAG):
        return text  # quoted, or tagged !!str
    if re.fullmatch(_PLAIN_WORD, text) and text.lower().lstrip(".") not in _SPECIAL_WORDS:
        return text
    if text == "":
        return None
    try:
        return _plain_scalar(text)
    except (yaml_rs.YAMLDecodeError, IndexError, TypeError, KeyError):
        return text


def _plain_scalar(text: str) -> Any:
    """What the document's parser reads a plain scalar ``text`` as (:func:`core_value`, and the fixes quoting a
    number as written, :mod:`mlops_infra.spec.as_written`)."""
    return yaml_rs.loads(f"k: {text}\n", parse_datetime=False)["k"]


def key_text(node: Any) -> str:
    """The path segment of a mapping key: the key itself when it is text, else ``str`` of its value."""
    value = core_value(node)
    return value if isinstance(value, str) else str(value)


def _at(name: str, line: int, diagnostic: Diagnostic, column: int = 1) -> Diagnostic:
    return with_location(diagnostic, SourceLocation(name, line, column))
