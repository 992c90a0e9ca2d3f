"""Read a Pulumi stack's prior state the way users have it on disk, without the Pulumi CLI.

Contract:
- :func:`parse_state` turns the bytes of a state document into a :class:`PriorState`. It accepts the
  file-backend checkpoint (``{"version", "checkpoint": {"stack", "config", "latest": {...}}}``), the
  output of ``pulumi stack export`` (``{"version", "deployment": {...}}``), either of them gzipped
  or zstd-compressed (detected by the magic bytes, not the file name, as Pulumi's
  ``encoding.DetectCompression`` does: :mod:`~mlops_infra.state.compressed_text`) and either of them
  JSON-encoded once more as a JSON string. Versions 3 and 4 are read; version 4 adds
  ``features``: one this reader does not implement (not in :data:`READ_FEATURES`) is refused, as Pulumi does.
- Unknown fields are ignored; known fields with the wrong JSON type, an unknown version, a broken
  JSON text or compressed stream raise :class:`StateError`, never another exception. Errors never
  quote state text (a ``--show-secrets`` export holds plaintext secrets): they give line, column and
  field names. Parsing is lenient about URN shapes (Pulumi's own fixtures use ``urn-1``);
  :func:`check_integrity`, called before planning, refuses malformed URNs (by index) and states
  mixing stacks or projects.
- Reading is bounded: :data:`MAX_STATE_BYTES` read from a file (counted, not ``stat``-ed; a regular
  file over it is refused before it is read whole) or decompressed (counted as it is produced, in
  each of the two passes that stream a compressed state, :func:`_read_compressed_by_resource`; a
  compression bomb is refused after a few MiB, never expanded whole). A state with a
  ``null``/missing ``latest`` (or ``deployment``) is an empty stack.
- ``PriorState.serial`` is the SHA-256 of the canonical JSON (sorted keys, compact separators) of
  the deployment object (the checkpoint's ``latest``), so the same state reads with the same serial
  whether it came from the stack file or from an export. An empty stack has the serial of
  :meth:`PriorState.empty`.
- Each resource keeps ``protect`` and ``retainOnDelete`` as the engine wrote them (pulumi/pulumi
  ``sdk/go/common/apitype/core.go`` ``ResourceV3``, both ``omitempty``: absent is false): the planner
  tells a blocked delete and a delete that leaves the resource in the cloud from a real one.
- Each resource keeps ``initErrors`` (``ResourceV3.InitErrors``, ``omitempty``; a list of strings):
  the reasons a create or update that made it did not finish initializing
  (:attr:`StateResource.init_errors`; the planner plans such a resource as an update, as the engine
  does). Never quoted in errors, like every state text.
- Each resource keeps ``pendingReplacement`` (``ResourceV3.PendingReplacement``, ``omitempty``: a
  delete-before-replace deleted it and has not created it again; :attr:`StateResource.pending_replacement`):
  the planner plans it as a replace that deletes nothing. And ``taint`` (``ResourceV3.Taint``, ``omitempty``;
  ``pulumi state taint``): the planner plans it as a replace before any diff. And ``external``
  (``ResourceV3.External``, ``omitempty``: read with ``Resource.get``): its delete only drops it from the state.
- A copy marked ``delete: true`` (left by a create-before-replace whose delete of the old object failed) is not
  the resource of its URN: it is kept in :attr:`PriorState.pending_deletes`, which the next ``up`` deletes.
- Reading never writes: no caches, no temporary files, no backups.
- :func:`find_state_file` locates a stack's file in a file backend exactly as ``pulumi`` would, and
  :func:`load_state` reads one from disk.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import ntpath
import os
import re
import stat
import urllib.parse
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from sys import intern
from typing import Any, BinaryIO, NamedTuple

import orjson

from mlops_infra import jsoncodec
from mlops_infra.errors import UserError
from mlops_infra.fileio import TooLarge, read_limited
from mlops_infra.secrets import redact_url
from mlops_infra.state.compressed_text import (
    CORRUPT_DATA,
    GZIP,
    ZSTD,
    Compression,
    DecompressedText,
    compression_of,
)
from mlops_infra.state.model import PriorState, StateResource
from mlops_infra.state.resource_texts import SENTINEL, NotSplittable, ResourceTexts, outline

SUPPORTED_VERSIONS = (3, 4)
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
MAX_STATE_BYTES = 4 << 30
"""A state larger than this (read from a file, counted, or decompressed) is refused: a device, an
endless pipe or a compression bomb, not a stack. Real states are large: the 10,000-endpoint
system of ``benchmarks/bench_cli.py`` (182k resources, the scale issue 14 plans) writes about 1.1 GiB
as the file backend writes it, so 1 GiB (the limit until 2026-12-05) refused it;
``tests/state/test_state_size_limit.py`` keeps that system's state under half of this. A state
laid out as Pulumi writes it, plain, gzipped or zstd-compressed, is read a few resources at a time
(:func:`_read_by_resource`, :func:`_read_compressed_by_resource`), never held whole; only other
layouts are held whole, up to this size."""
GUNZIP_PIECE = 16 << 20
BOMB_CHECK_BYTES = 64 << 20
GROUP_BYTES = 256 << 10
"""Resource texts are parsed this many bytes at a time (a run of whole resources), not one by one."""
MAX_GZIP_RATIO = 200
"""A gzip stream expanding more than this many times over its first 64 MiB is refused as a bomb
(deflate tops out near 1,032:1 on repeated bytes; JSON states compress about 10-50:1)."""
MAX_ZSTD_RATIO = 1000
"""The same for a zstd stream: zstd tops out near 32,700:1 (zeros at level 3, and at 19); the
10,000-endpoint state of ``benchmarks/bench_gzip_state.py`` compresses 120:1 indented and 85:1
compact as Pulumi writes it (level 3, an 8 MiB window), 132:1 over its first MiB, too close to 200."""
MAX_RATIO = {"gzip": MAX_GZIP_RATIO, "zstd": MAX_ZSTD_RATIO}
EMPTY_SERIAL = PriorState.empty().serial

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_RESTORE = "the `.bak` copy Pulumi keeps beside the stack file, or one from `.pulumi/backups/`"
_REEXPORT = "re-export the stack with `pulumi stack export --file state.json` and read that file"


class StateError(UserError):
    """A state, preview or event document that cannot be read, with what to do about it.

    Attributes:
        source: the file (or label) the document came from.
        summary: a short title, no trailing period.
        detail: what is wrong and how to fix it.
    """

    def __init__(self, source: str, summary: str, detail: str) -> None:
        super().__init__(summary, detail, source=source)
        self.source: str = source

    def __str__(self) -> str:
        return f"{self.source}: {self.summary}: {self.detail}"


class UrnParts(NamedTuple):
    """The pieces of ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``."""

    stack: str
    project: str
    qualified_type: str
    name: str

    @property
    def type(self) -> str:
        """The resource's own type: the last ``$``-separated part of the qualified type."""
        return self.qualified_type.rsplit("$", 1)[-1]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def parse_state(data: bytes | str, source: str) -> PriorState:
    """Parse a Pulumi checkpoint or ``pulumi stack export`` document into a :class:`PriorState`.

    ``source`` names the document in errors and is stored as ``PriorState.source``.
    Raises :class:`StateError` for anything that is not a readable version 3 or 4 state.
    UTF-8 bytes laid out as Pulumi writes them, plain or compressed, are read a few resources at a
    time (:func:`_read_by_resource`, :func:`_read_compressed_by_resource`); anything else is parsed
    whole, with the same result.
    """
    if isinstance(data, bytes) and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        compression = compression_of(data[:4])
        if compression is not None:
            prior = _read_compressed_by_resource(io.BytesIO(data), source, compression)
        else:
            prior = _read_by_resource(io.BytesIO(data), source)
        if prior is not None:
            return prior
    doc = parse_json_document(data, source)
    if isinstance(doc, str):
        doc = parse_json_document(doc, source)
    version, deployment = _unwrap_state(doc, source)
    if deployment is None:
        return PriorState(source, version, EMPTY_SERIAL, None, None, {})
    raw_resources = deployment.get("resources")
    if raw_resources is not None and not isinstance(raw_resources, list):
        raise _shape_error(source, f'"resources" is a JSON {_json_kind(raw_resources)}, not an array')
    resources, malformed, doomed = _index_resources(raw_resources or [], source)
    return _prior_state(source, version, deployment, resources, malformed, _serial(deployment, source), doomed)


def _read_by_resource(handle: BinaryIO, source: str) -> PriorState | None:
    """The state in ``handle`` (UTF-8 JSON, seekable), read a few resources at a time, or None when it
    is not laid out as Pulumi writes it or is not a readable state (the caller then parses it whole,
    which gives the same result or the error).

    Memory: a few blocks and one group of resources (:data:`GROUP_BYTES` of text) at a time instead
    of the whole text, its parse tree and its canonical copy; each resource keeps only the fields
    :class:`StateResource` holds, its inputs and outputs as compact JSON bytes
    (:meth:`StateResource.packed`, decoded when read), and a URN named again (dependency, parent,
    provider) is the string object already read (:class:`_ResourceReader`).
    First the text around the ``"resources"`` array (the deployment without it) is read from the
    first and last blocks (:func:`~mlops_infra.state.resource_texts.outline`), parsed and checked;
    then :meth:`~mlops_infra.state.resource_texts.ResourceTexts.groups` cuts the array into runs of
    whole resources, each run is parsed as one list and its canonical bytes feed the serial's hash
    in order, and the text around the array it found must be the one read first. So the serial is
    the SHA-256 of the same bytes :func:`_serial` hashes (:class:`~mlops_infra.jsoncodec.ItemsDigest`).
    """
    sentinel = SENTINEL.decode()
    try:
        head, tail = outline(handle, MAX_STATE_BYTES)
        if SENTINEL in head or SENTINEL in tail:
            return None
        doc = jsoncodec.loads_utf8(head + b'"' + SENTINEL + b'"' + tail)
        if not isinstance(doc, dict):
            return None
        version, deployment = _unwrap_state(doc, source)
        if deployment is None or deployment.get("resources") != sentinel:
            return None
        digest = jsoncodec.ItemsDigest(deployment, "resources")
        texts = ResourceTexts(handle.read, MAX_STATE_BYTES)
        resources, malformed, doomed = _index_resources(_hashed_entries(texts.groups(GROUP_BYTES, brackets=True), digest), source,
                                                packed=True)
        if (texts.head, texts.tail) != (head, tail):
            return None
    except (NotSplittable, StateError, orjson.JSONDecodeError, TypeError, ValueError, OSError):
        return None
    return _prior_state(source, version, deployment, resources, malformed, digest.hexdigest(), doomed)


def _read_compressed_by_resource(raw: BinaryIO, source: str, compression: Compression) -> PriorState | None:
    """:func:`_read_by_resource` of the gzipped or zstd-compressed state in the seekable ``raw``, never
    decompressed whole, or None when that returns None (the caller then reads it whole).

    Two passes over the compressed stream (:class:`~mlops_infra.state.compressed_text.DecompressedText`):
    the outline needs the text's last block before the resources, and deflate and zstd can only be
    read from the start. Pass 1 (:meth:`~mlops_infra.state.compressed_text.DecompressedText.scan`)
    counts the text and keeps its first and last blocks; pass 2 streams the resources. Both count
    what they produce: past :data:`MAX_STATE_BYTES`, or a bomb's ratio (:data:`MAX_RATIO` past
    :data:`BOMB_CHECK_BYTES`), pass 1 raises :class:`StateError` after a few MiB of text, as do
    corrupt data, a cut-off member or frame and a failed checksum.
    Cost (``benchmarks/bench_gzip_state.py``, 2026-12-06): a zlib pass takes 1.16 s CPU at 10,000
    endpoints (61 MiB of gzip, 1,058 MiB of text) and 0.12 s at 1,000. ``plan --state`` of the gzipped
    state took 21.5 s CPU and 1,355 MB at 10,000 endpoints, the plain file 19.0 s and 1,355 MB, the
    whole decompression before (one pass, the text held) 23.1 s and 2,488 MB; at 1,000 endpoints
    2.42 s and 199 MB (plain 2.30 s, 193 MB; before 2.47 s, 313 MB).
    """
    def check(produced: int, consumed: int) -> None:
        _check_growth(produced, consumed, source, compression)

    text = DecompressedText(raw, check, compression)
    try:
        text.scan()
    except CORRUPT_DATA as err:
        raise _corrupt(source, err, compression) from None
    except ModuleNotFoundError as err:
        raise _no_decoder(source, err) from None
    try:
        return _read_by_resource(text, source)  # type: ignore[arg-type]  # reads and seeks as a binary file
    except CORRUPT_DATA:  # pass 1 read it: the file changed since; the whole read reports it
        return None


def _hashed_entries(groups: Iterable[bytes], digest: jsoncodec.ItemsDigest) -> Iterator[dict[str, Any]]:
    """Each resource of each group of resource texts (:meth:`ResourceTexts.groups`, with its
    brackets) parsed, and fed to the serial's ``digest``."""
    for text in groups:
        entries = orjson.loads(text)
        for entry in entries:
            if type(entry) is not dict:
                raise NotSplittable("an element is not an object")
        digest.add_many(entries)
        yield from entries
        del entries


def _prior_state(source: str, version: int, deployment: dict[str, Any], resources: dict[str, StateResource],
                 malformed: tuple[str, ...], serial: str, pending_deletes: tuple[StateResource, ...] = ()
                 ) -> PriorState:
    identity = _stack_identity(resources.values())
    return PriorState(
        source=source,
        version=version,
        serial=serial,
        project=identity.project if identity else None,
        stack=identity.stack if identity else None,
        resources=resources,
        secrets_provider=_secrets_provider(deployment.get("secrets_providers"), source),
        pending_operations=len(_optional(deployment, "pending_operations", list, source, "deployment") or ()),
        malformed_urns=malformed,
        pending=_pending(deployment.get("pending_operations")),
        pending_deletes=pending_deletes,
    )


def _pending(entries: Any) -> tuple[tuple[str, str, str], ...]:
    """:attr:`PriorState.pending` of a deployment's ``pending_operations`` (a malformed entry is left out)."""
    found = []
    for entry in entries if isinstance(entries, list) else ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and all(isinstance(v, str) for v in (resource.get("type"), resource.get("urn"),
                                                                           entry.get("type"))):
            found.append((resource["type"], resource["urn"], entry["type"]))
    return tuple(found)


def load_state(path: Path | str) -> PriorState:
    """Read and parse a state file (checkpoint or export, plain, gzipped or zstd-compressed) from disk.

    The file is only read, at most :data:`MAX_STATE_BYTES` of it (bytes are counted as they are
    read, so ``/dev/zero`` stops there). An unreadable or oversized file raises :class:`StateError`.
    A plain UTF-8 or compressed regular file is read a few resources at a time
    (:func:`_read_by_resource`, :func:`_read_compressed_by_resource`), never whole; anything else, or
    what that path does not read, is read whole (the same result).
    """
    path = Path(path)
    prior = _stream_file(path)
    if prior is not None:
        return prior
    _refuse_oversized_file(path)
    try:
        data = read_limited(path, MAX_STATE_BYTES, check_head=lambda head: _refuse_binary(head, str(path)))
    except TooLarge:
        raise _too_large(path) from None
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise StateError(
            str(path), "cannot read the state file",
            f"{reason}. Check the path and permissions; to read a stack from another backend, "
            f"run `pulumi stack export --file state.json` and pass that file.",
        ) from None
    return parse_state(data, str(path))


def _too_large(path: Path) -> StateError:
    return StateError(str(path), "the state file is too large",
                      f"It holds more than {MAX_STATE_BYTES >> 20} MiB, which no stack state needs. Check "
                      f"that this is the right file; a device or an endless pipe is not a state file.")


def _refuse_oversized_file(path: Path) -> None:
    """Refuse a regular file whose size is over :data:`MAX_STATE_BYTES` before reading it whole
    (:func:`_stream_file` declined it): :func:`read_limited` would hold the limit's worth of it in
    memory only to refuse it then. Other files (devices, pipes) have no size to trust and are
    counted as they are read."""
    try:
        info = os.stat(path)
    except OSError:
        return  # read_limited reports it
    if stat.S_ISREG(info.st_mode) and info.st_size > MAX_STATE_BYTES:
        raise _too_large(path)


def _stream_file(path: Path) -> PriorState | None:
    """:func:`_read_by_resource` of a regular file that starts as UTF-8 text (not UTF-16 or binary),
    :func:`_read_compressed_by_resource` of one that starts as gzip or zstd (both passes read the one
    open file: a stack file replaced meanwhile is not mixed in); None otherwise or when that cannot
    read it. A corrupt or oversized compressed stream raises :class:`StateError`."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            head = handle.read(4096)
            handle.seek(0)
            compression = compression_of(head)
            if compression is not None:
                return (_read_compressed_by_resource(handle, str(path), compression)
                        if info.st_size <= MAX_STATE_BYTES else None)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
                return None
            return _read_by_resource(handle, str(path))
    except OSError:
        return None


def find_state_file(stack_dir: Path, project: str, stack: str, backend_url: str | None = None) -> Path | None:
    """Where the file backend keeps ``project``/``stack``'s state, or ``None`` if it has none yet.

    ``backend_url`` is the value of ``PULUMI_BACKEND_URL`` as the caller read it (``None`` or empty:
    the backend is ``stack_dir`` itself). Only ``file://`` URLs are local: ``file://~`` is the home
    directory and a relative path is relative to ``stack_dir``; any other URL (``s3://``,
    ``https://api.pulumi.com``) raises :class:`StateError` saying how to export the state instead.

    Layout, as ``pulumi`` reads it: ``<backend>/.pulumi/stacks/<project>/<stack>.json`` when
    ``.pulumi/meta.yaml`` has ``version: 1`` (or when there is no meta file and no legacy stack),
    else the legacy ``<backend>/.pulumi/stacks/<stack>.json``, which is not scoped by project (check
    ``PriorState.project`` after loading). ``.json.gz`` and ``.json.zst`` are found too; when several
    exist the newest wins, on a tie ``.json.zst``, then ``.json.gz`` (:func:`_pick_stack_file`).
    ``stack`` may be qualified as ``organization/<project>/<stack>``.
    Only file metadata and ``meta.yaml`` are read; nothing is written.
    """
    return _pick_stack_file(state_file_stem(stack_dir, project, stack, backend_url))


def state_file_stem(stack_dir: Path, project: str, stack: str, backend_url: str | None = None) -> Path:
    """The stack file's path without ``.json``/``.json.gz``/``.json.zst``: where
    :func:`find_state_file` looks (and where ``pulumi`` writes it), for messages that say where
    nothing was found."""
    project, stack = _split_stack_name(project, stack)
    root = backend_root(stack_dir, backend_url)
    stacks_dir = root / ".pulumi" / "stacks"
    return stacks_dir / project / stack if _uses_project_layout(root) else stacks_dir / stack


def backend_root(stack_dir: Path, backend_url: str | None) -> Path:
    """The directory a file backend URL points at (see :func:`find_state_file`). ``file://~`` is the home
    ``pulumi`` uses, the passwd home, not ``$HOME`` (audit stateformats-6:
    :func:`mlops_infra.state.user_home.expand_home`). As ``pulumi`` reads the URL (:func:`file_backend_url`): the
    path ends at the first ``?`` or ``#`` and is percent-decoded (``file:///x/My%20State`` is ``/x/My State``);
    a ``%`` that starts no escape raises :class:`StateError`, as ``pulumi`` refuses the URL. A relative path is made
    absolute first (``massageBlobPath``'s ``filepath.Abs``: pulumi runs in the stack directory), and the absolute
    path is read as a URL again (fileblob), so a ``#`` or ``%`` in the stack directory's own path counts too; on
    Windows ``file:///C:/x`` is ``C:/x``."""
    if not backend_url:
        return Path(stack_dir)
    if not backend_url.startswith("file://"):
        shown = _redact_url(backend_url)
        raise StateError(
            shown, "the stack's state is not in a local file backend",
            f"PULUMI_BACKEND_URL={shown} keeps state where mlops-infra does not read it. Run "
            f"`pulumi stack export --file state.json` while logged in to that backend and pass the file.",
        )
    raw = backend_url[len("file://"):]
    _check_escapes(raw, backend_url)  # massageBlobPath's url.Parse of the URL as given
    from mlops_infra.state.user_home import expand_home

    path = expand_home(_given_path(raw))
    absolute = str(path if path.is_absolute() else Path(stack_dir) / path)
    _check_escapes(absolute, backend_url)  # fileblob's url.Parse of the absolute URL massageBlobPath returns
    return Path(urllib.parse.unquote(re.split(r"[?#]", absolute, maxsplit=1)[0]))


def _given_path(raw: str, windows: bool = os.sep != "/") -> str:
    """The path ``massageBlobPath`` makes absolute, of a file URL's text after ``file://``: cut at ``?``; on Windows
    (``os.PathSeparator != '/'``) without the ``/`` before a drive letter (``file:///C:/x`` is ``C:/x``,
    pulumi/pulumi#24628: "Drop the leading slash so filepath.Abs below doesn't treat the path as relative")."""
    given = raw.split("?", 1)[0]
    if windows and given.startswith("/") and ntpath.splitdrive(given[1:])[0]:
        return given[1:]
    return given


def _check_escapes(text: str, backend_url: str) -> None:
    """Raise :class:`StateError` where Go's ``url.Parse`` refuses ``text`` (a URL's text after ``file://``) for a
    ``%`` that starts no escape, in its path or fragment (:data:`_BAD_ESCAPE`)."""
    cut = re.search(r"[?#]", text)
    bad = _BAD_ESCAPE.search(text if cut and cut.group() == "#" else text[:cut.start()] if cut else text)
    if bad:
        shown = _redact_url(backend_url)
        raise StateError(
            shown, "the backend URL is not a valid URL",
            f"The file backend of PULUMI_BACKEND_URL={shown} is the folder {text.split('?', 1)[0]}, which holds "
            f"`{bad.group()}`, not a percent-escape (`%` and two hex digits): pulumi refuses it (\"invalid URL "
            f"escape\"). Write `%` in a folder name as `%25`, `#` as `%23`, `?` as `%3F` and a space as `%20` in an "
            f"absolute URL, or run `mlops-infra apply`, which builds the URL of the stack directory itself.",
        )


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2}).{0,2}", re.DOTALL)
"""A ``%`` that does not start a percent-escape: Go's ``url.Parse`` refuses the URL ("invalid URL escape") when it is
in the path or the fragment; the query is not checked (``massageBlobPath`` reads it with ``url.Query()``, which drops
what it cannot decode)."""


def file_backend_url(directory: Path | str) -> str:
    """The ``file://`` backend URL ``pulumi`` reads as ``directory`` (absolute): :func:`backend_root` of it is
    ``directory`` again. The path is percent-encoded (:meth:`pathlib.PurePath.as_uri`; on Windows
    ``file:///C:/...``, the form ``massageBlobPath`` takes since pulumi/pulumi#24628): ``massageBlobPath``
    (``pkg/backend/diy/backend.go``) first checks the text with Go's ``url.Parse`` (a bare ``%`` that is not an
    escape is an error), cuts it at ``?`` and hands it to gocloud's ``fileblob``, whose ``OpenBucketURL`` keeps
    ``url.Parse(...).Path``: cut at ``#`` and percent-decoded. So a folder named ``proj#1`` or ``50%off`` written
    as is would be ``proj`` or an error to ``pulumi`` while ``plan`` reads the folder itself (audit yamledge-4)."""
    return Path(directory).resolve().as_uri()


def _redact_url(url: str) -> str:
    """The URL with its credentials (user-info password, credential query parameters, tokens)
    replaced by ``***``: the redaction layer's :func:`~mlops_infra.secrets.redact_url`."""
    return redact_url(url)


def parse_urn(urn: str) -> UrnParts | None:
    """Split an engine URN; ``None`` when ``urn`` is not of the form ``urn:pulumi:s::p::t::n``.

    The name may itself contain ``::``; stack and project may not.
    """
    if not urn.startswith("urn:pulumi:"):
        return None
    parts = urn[len("urn:pulumi:"):].split("::", 3)
    if len(parts) != 4 or not all(parts[:3]):
        return None
    return UrnParts(*parts)


def split_provider_reference(ref: str) -> tuple[str, str]:
    """Split a state ``provider`` value ``<provider urn>::<provider id>`` into (urn, id).

    A value that is not a URN followed by an id is returned whole as the URN, with id ``""``.
    """
    urn, sep, provider_id = ref.rpartition("::")
    if not sep or parse_urn(urn) is None:
        return ref, ""
    return urn, provider_id


def decode_text(data: bytes | str, source: str) -> str:
    """Untrusted bytes -> text: decompressed when the magic bytes say gzip or zstd, UTF-8 or (with a
    BOM) UTF-16.

    A leading BOM is dropped. Binary data or corrupt compressed data raises :class:`StateError`.
    """
    return _to_text(data, source)[0]


def parse_json_document(data: bytes | str, source: str) -> Any:
    """Decode untrusted JSON text (UTF-8/UTF-16 with or without BOM, or gzip or zstd of it).

    Errors become :class:`StateError` with the line and column where the JSON broke, and say when
    the text ended early (a truncated file). UTF-8 bytes (the usual state file) are parsed as they
    are, without a decoded copy of the text; only what that refuses (other encodings, broken JSON,
    what orjson does not read) takes the text path, which reports errors and parses leniently.
    """
    if isinstance(data, bytes):
        compression = compression_of(data[:4])
        raw = _decompress(data, source, compression) if compression else data
        parsed = jsoncodec.loads_utf8(raw)
        if parsed is not jsoncodec.UNPARSED:
            return parsed
        text = _decode_bytes(raw, source, compression)
    else:
        text, compression = data.removeprefix("\ufeff"), None
    if not text or text.isspace():
        raise StateError(source, "the file is empty",
                         f"A Pulumi state or preview document is never empty: {_REEXPORT}.")
    try:
        return jsoncodec.loads(text)
    except json.JSONDecodeError as err:
        raise _json_error(source, text, err, compression is not None) from None
    except (ValueError, RecursionError) as err:
        raise StateError(source, "not a Pulumi JSON document",
                         f"The JSON could not be read ({err}): {_REEXPORT}.") from None


# --------------------------------------------------------------------------------------------
# Text and JSON decoding
# --------------------------------------------------------------------------------------------


def _to_text(data: bytes | str, source: str) -> tuple[str, bool]:
    """Bytes -> text (decompressing first when the magic bytes say so); returns (text, was_compressed)."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff"), False
    compression = compression_of(data[:4])
    if compression is not None:
        data = _decompress(data, source, compression)
    return _decode_bytes(data, source, compression), compression is not None


def _decompress(data: bytes, source: str, compression: Compression) -> bytes:
    """:func:`_gunzip` or :func:`_unzstd`: the whole text of compressed ``data``."""
    return _gunzip(data, source) if compression is GZIP else _unzstd(data, source)


def _gunzip(data: bytes, source: str) -> bytes:
    """Decompress every gzip member whole (:class:`~mlops_infra.state.compressed_text.GzipStream`),
    counting the bytes produced (16 MiB at a time): past :data:`MAX_STATE_BYTES`, or past
    :data:`BOMB_CHECK_BYTES` at a ratio over :data:`MAX_GZIP_RATIO`, it stops at once (a gzip bomb
    costs a few MiB, not its full size)."""
    return _drain(data, source, GZIP)


def _unzstd(data: bytes, source: str) -> bytes:
    """Decompress every zstd frame whole (:class:`~mlops_infra.state.compressed_text.ZstdStream`), as
    :func:`_gunzip` does gzip (:data:`MAX_ZSTD_RATIO`)."""
    return _drain(data, source, ZSTD)


def _drain(data: bytes, source: str, compression: Compression) -> bytes:
    out = bytearray()
    try:
        stream = compression.stream(
            io.BytesIO(data), lambda produced, consumed: _check_growth(produced, consumed, source, compression))
        while piece := stream.read(GUNZIP_PIECE):
            out += piece
    except CORRUPT_DATA as err:
        raise _corrupt(source, err, compression) from None
    except ModuleNotFoundError as err:
        raise _no_decoder(source, err) from None
    return bytes(out)


def _corrupt(source: str, err: Exception, compression: Compression) -> StateError:
    return StateError(
        source, f"corrupt {compression.name} data",
        f"The file starts like {compression.name} but does not decompress ({err}); it was cut off or "
        f"damaged in transfer. Restore {_RESTORE}, or {_REEXPORT}.",
    )


def _no_decoder(source: str, err: ModuleNotFoundError) -> StateError:
    return StateError(source, f"reading a zstd-compressed state needs the {err.name} package",
                      f"It is a dependency of mlops-infra that is not installed here: reinstall mlops-infra "
                      f"(`pip install --force-reinstall mlops-infra`) or `pip install {err.name}`.")


def _check_growth(produced: int, consumed: int, source: str, compression: Compression = GZIP) -> None:
    if produced > MAX_STATE_BYTES:
        raise StateError(source, f"the {compression.compressed} file is too large",
                         f"It decompresses to more than {MAX_STATE_BYTES >> 20} MiB, which no stack state "
                         f"needs. Check that this is the right file.")
    ratio = MAX_RATIO[compression.name]
    if produced > BOMB_CHECK_BYTES and produced > ratio * max(consumed, 1):
        usual = "10-50:1" if compression is GZIP else "20-150:1"
        raise StateError(source, f"the {compression.compressed} file is a compression bomb",
                         f"Its first {consumed:,} bytes decompress to more than {produced >> 20} MiB "
                         f"(over {ratio}:1); a {compression.compressed} Pulumi state compresses about {usual}. "
                         f"Check that this is the right file.")


def _refuse_binary(head: bytes, source: str) -> None:
    """Refuse at once a file whose first bytes are neither compressed nor text (a device such as
    ``/dev/zero``), instead of reading it up to the size limit."""
    if compression_of(head) is not None or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    nul = head.find(b"\x00")
    if nul != -1:
        raise StateError(source, "not a text file",
                         f"Byte {nul} is a NUL byte: this is binary data, not JSON written by "
                         f"Pulumi. Point at `.pulumi/stacks/<project>/<stack>.json` or at a file written by "
                         f"`pulumi stack export --file state.json`.")


def _decode_bytes(data: bytes, source: str, compression: Compression | None) -> str:
    # UTF-16 with a BOM is what `pulumi stack export > file` writes in Windows PowerShell 5.
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding = "utf-16" if utf16 else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        where = "" if compression is None else " after gunzip" if compression is GZIP else " after zstd -d"
        raise StateError(
            source, "not a text file",
            f"Byte {err.start}{where} is not valid {encoding.removesuffix('-sig').upper()}: this is "
            f"binary data, not JSON written by Pulumi. Point at `.pulumi/stacks/<project>/<stack>.json` "
            f"or at a file written by `pulumi stack export --file state.json`.",
        ) from None


def _json_error(source: str, text: str, err: json.JSONDecodeError, compressed: bool) -> StateError:
    """Where the JSON broke, never what is there: state text can hold plaintext secrets (a
    ``--show-secrets`` export), so no excerpt is quoted."""
    where = f"line {err.lineno}, column {err.colno}" + (" (of the decompressed text)" if compressed else "")
    start = text.lstrip()[:1]
    if start not in ("{", "[", '"'):
        return StateError(
            source, "not a JSON document",
            f"It does not start with '{{' (its first character is {_char_kind(start)}); Pulumi state and "
            f"preview files start with '{{'. Point at `.pulumi/stacks/<project>/<stack>.json`, or {_REEXPORT}.",
        )
    if _looks_truncated(text, err):
        return StateError(
            source, f"the JSON ends early at {where}: the file looks truncated",
            f"{err.msg}; the text stops after {len(text)} characters. A copy or "
            f"`pulumi stack export > file` was cut off, or the disk filled up. Restore "
            f"{_RESTORE}, or {_REEXPORT}.",
        )
    return StateError(
        source, f"not valid JSON: it breaks at {where}",
        f"{err.msg}. If the file was edited by hand, fix the syntax there; otherwise "
        f"{_REEXPORT}.",
    )


def _char_kind(char: str) -> str:
    if not char:
        return "none"
    if char.isalpha():
        return "a letter"
    if char.isdigit():
        return "a digit"
    return "a control character" if not char.isprintable() else f"{char!r}"


def _looks_truncated(text: str, err: json.JSONDecodeError) -> bool:
    stripped = text.rstrip()
    return (
        err.pos >= len(stripped)
        or err.msg.startswith("Unterminated string")
        or not stripped.endswith(("}", "]", '"'))
    )


# --------------------------------------------------------------------------------------------
# Document shape
# --------------------------------------------------------------------------------------------


def _unwrap_state(doc: Any, source: str) -> tuple[int, dict[str, Any] | None]:
    """Check the envelope; return (version, deployment or None for an empty stack)."""
    if not isinstance(doc, dict):
        raise _shape_error(source, f"the document is a JSON {_json_kind(doc)}, not an object")
    version = _version(doc, source)
    _features(doc, source)
    if "checkpoint" in doc and "deployment" in doc:
        raise _shape_error(source, 'it has both "checkpoint" and "deployment"; it can only be one')
    if "checkpoint" in doc:
        checkpoint = doc["checkpoint"]
        if not isinstance(checkpoint, dict):
            raise _shape_error(source, f'"checkpoint" is a JSON {_json_kind(checkpoint)}, not an object')
        return version, _optional(checkpoint, "latest", dict, source, "checkpoint")
    if "deployment" in doc:
        return version, _optional(doc, "deployment", dict, source, "the document")
    raise _shape_error(source, 'it has "version" but neither "checkpoint" nor "deployment"')


def _version(doc: dict[str, Any], source: str) -> int:
    if "version" not in doc:
        raise _shape_error(source, _missing_version_reason(doc))
    version = doc["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        shown = json.dumps(version) if isinstance(version, int | float) or (
            isinstance(version, str) and len(version) <= 12) else f"a JSON {_json_kind(version)}"
        raise _shape_error(source, f'"version" is {shown}, not a whole number')
    if version in SUPPORTED_VERSIONS:
        return version
    supported = " and ".join(map(str, SUPPORTED_VERSIONS))
    if version > max(SUPPORTED_VERSIONS):
        how = ("It was written by a newer Pulumi than this mlops-infra knows. Upgrade mlops-infra "
               "(`pip install -U mlops-infra`).")
    elif version > 0:
        how = ("It was written by an old Pulumi. Run `pulumi stack export --file state.json` with a "
               "current Pulumi CLI, which upgrades it, and read that file.")
    else:
        how = f"No Pulumi writes such a version; the file is damaged: {_REEXPORT}."
    raise StateError(source, f"unsupported state version {version}",
                     f"mlops-infra reads state versions {supported}. {how}")


def _missing_version_reason(doc: dict[str, Any]) -> str:
    if "steps" in doc or "changeSummary" in doc:
        return "this is `pulumi preview --json` output, not a stack's state"
    if "resources" in doc or "manifest" in doc:
        return ('this is a bare deployment without its envelope; wrap it as '
                '{"version": 3, "deployment": ...} or export it again')
    return 'it has no "version"; expected {"version": 3|4, "checkpoint"|"deployment": {...}}'


def _features(doc: dict[str, Any], source: str) -> None:
    """Check a document's ``features``: a list of strings, and in a version-4 document only features mlops-infra
    reads (:data:`READ_FEATURES`), as Pulumi's own reader refuses those it does not implement (pulumi/pulumi
    ``pkg/resource/stack/checkpoint.go``: ``validateSupportedFeatures`` for version 4; ``deployment.go``: "Any
    features not in this map will be rejected"). The error names the features (never a value of the state)."""
    features = doc.get("features")
    if features is not None and not (isinstance(features, list) and all(isinstance(f, str) for f in features)):
        raise _shape_error(source, '"features" must be a list of strings')
    unread = sorted({f for f in features or () if f not in READ_FEATURES}) if doc.get("version") == 4 else ()
    if unread:
        shown = [f for f in unread if _FEATURE_NAME.fullmatch(f)]
        others = f" and {len(unread) - len(shown)} more not shown" if len(shown) < len(unread) else ""
        raise StateError(
            source, "the state uses Pulumi features mlops-infra does not read",
            f"Features {', '.join(shown) or '(none shown)'}{others}. A plan that ignores them would be wrong (a view "
            "would be deleted, a replaceWith or byte string misread), so mlops-infra refuses the state, as a Pulumi "
            "that does not implement a feature refuses it. Upgrade mlops-infra (`pip install -U mlops-infra`) to one "
            "that reads them, and run `pulumi preview` meanwhile.")


READ_FEATURES = frozenset({"taint", "refreshBeforeUpdate", "hooks", "extensionParameterization"})
"""Version-4 ``features`` (pulumi/pulumi ``pkg/resource/stack/deployment.go`` ``ApplyFeatures``) a plan from this
reader is right with: ``taint`` is read (:attr:`StateResource.taint`); ``refreshBeforeUpdate`` makes the engine
refresh the resource before diffing it, and a plan without ``--refresh`` diffs every resource against its stored
record anyway; ``hooks`` (resource hooks) and ``extensionParameterization`` (a parameterized provider package)
change nothing a plan decides. Not read, so refused: ``views`` (``viewOf``: resources a provider manages under
another, which the program never registers: they would plan as deletes), ``replaceWith``, ``byteString`` (values
that are not UTF-8), ``snippets-prototype``, and any name this list does not know."""
_FEATURE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")


def _shape_error(source: str, reason: str) -> StateError:
    return StateError(
        source, "not a Pulumi state file",
        f"{reason[0].upper()}{reason[1:]}. Expected the stack file `.pulumi/stacks/<project>/<stack>.json` "
        f'({{"version": 3|4, "checkpoint": {{...}}}}) or `pulumi stack export` output '
        f'({{"version": 3|4, "deployment": {{...}}}}).',
    )


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _optional(obj: dict[str, Any], key: str, kind: type, source: str, where: str) -> Any:
    """``obj[key]`` if it has the JSON type ``kind``; ``None`` when missing or null; else an error."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    expected = {dict: "an object", list: "an array", str: "a string", bool: "true or false"}[kind]
    raise StateError(
        source, "not a Pulumi state file",
        f'In {where}, "{key}" is a JSON {_json_kind(value)} where Pulumi writes {expected}; the file '
        f"was damaged or edited by hand. Restore {_RESTORE}, or fix that field.",
    )


# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


def _index_resources(entries: Iterable[Any], source: str, packed: bool = False
                     ) -> tuple[dict[str, StateResource], tuple[str, ...], tuple[StateResource, ...]]:
    """Resources by URN, the malformed URNs (:func:`_malformed_urns`), and the copies marked ``delete: true``
    (pending deletion, in state order: :attr:`PriorState.pending_deletes`). A copy pending deletion is never
    the resource of its URN, and two live copies of one URN are an error, as the engine reads a snapshot
    (pulumi/pulumi ``pkg/resource/deploy/deployment.go``: "Ignore resources that are pending deletion; these
    should not be recorded in the LUT"; "unexpected duplicate resource"). ``packed``: the entries were parsed by
    orjson (so its bytes give them back exactly): keep inputs and outputs as :meth:`StateResource.packed` bytes."""
    resources: dict[str, StateResource] = {}
    doomed: list[StateResource] = []
    malformed: list[str] = []
    reader = _ResourceReader(packed)
    read = reader.resource
    for index, entry in enumerate(entries):
        resource = read(entry, index, malformed) if type(entry) is dict else None
        if resource is None:
            resource = _parse_resource(entry, index, source)
            malformed += reader.malformed_urns(entry, index)
        if entry.get("delete") is True:
            doomed.append(resource)
        elif resource.urn not in resources:
            resources[resource.urn] = resource
        else:
            raise _duplicate_error(source, resource.urn, index)
    return resources, tuple(malformed), tuple(doomed)


class _UrnShapes:
    """:func:`parse_urn` ``is not None`` for many URNs of one stack, without splitting each: once a
    URN parsed, a URN starting with its ``urn:pulumi:<stack>::<project>::`` is well formed exactly
    when a non-empty type follows, ended by ``::`` (the stack and project never hold ``::`` nor end
    in ``:``, so the split finds the same parts)."""

    def __init__(self) -> None:
        self.prefix: str | None = None
        self.key: tuple[str, str] | None = None

    def parts_key(self, urn: str) -> tuple[str, str] | None:
        """(project, stack) of a well-formed ``urn``, else None."""
        prefix = self.prefix
        if prefix is not None and urn.startswith(prefix):
            return self.key if urn.find("::", len(prefix)) > len(prefix) else None
        parts = parse_urn(urn)
        if parts is None:
            return None
        self.prefix = f"urn:pulumi:{parts.stack}::{parts.project}::"
        self.key = (parts.project, parts.stack)
        return self.key


class _ResourceReader:
    """:func:`_parse_resource` for the common, well-typed entry (None for anything else: the caller
    then calls it for the error), with what repeats shared: a dependency, parent or provider names a
    resource read before (Pulumi writes dependencies first), so its URN is that resource's string
    object, not a copy; each provider reference is split once. A resource's URN is the interned
    string (``sys.intern``), as the desired graph's URNs are (:mod:`mlops_infra.graph`): a plan
    holds one string per URN, not two."""

    def __init__(self, packed: bool = False) -> None:
        self.urns: dict[str, str] = {}
        self.providers: dict[str, str] = {}
        self.shapes = _UrnShapes()
        self.packed = packed
        self.well_formed: set[str] = set()
        self.output_names: dict[tuple[str, ...], tuple[str, ...]] = {}

    def resource(self, entry: dict[str, Any], index: int, malformed: list[str]) -> StateResource | None:
        """The resource of the well-typed ``entry`` (``resources[index]``), the malformed URNs it holds
        appended to ``malformed`` as :meth:`malformed_urns` finds them (from the fields read here, not
        read again); None, with nothing appended, for any other entry."""
        get = entry.get
        urn, rtype, rid = get("urn"), get("type"), get("id")
        custom, protect, retain = get("custom", False), get("protect", False), get("retainOnDelete", False)
        parent, provider, deps = get("parent"), get("provider"), get("dependencies")
        inputs, outputs, failed = get("inputs"), get("outputs"), get("initErrors")
        pending, taint, external = get("pendingReplacement", False), get("taint", False), get("external", False)
        if not (type(urn) is str and urn and type(rtype) is str and type(custom) is bool and type(protect) is bool
                and type(retain) is bool and type(pending) is bool and type(taint) is bool
                and type(external) is bool
                and (rid is None or type(rid) is str) and (parent is None or type(parent) is str)
                and (provider is None or type(provider) is str) and (deps is None or type(deps) is list)
                and (inputs is None or type(inputs) is dict) and (outputs is None or type(outputs) is dict)
                and (failed is None or type(failed) is list)):
            return None
        if failed:
            for reason in failed:
                if type(reason) is not str:
                    return None
            init_errors = tuple(failed)
        else:
            init_errors = ()
        urns = self.urns
        if deps:
            for dep in deps:
                if type(dep) is not str:
                    return None
            dependencies = tuple(map(urns.get, deps, deps))
        else:
            dependencies = ()
        self._check_urn(urn, "urn", index, malformed)
        if parent:
            self._check_urn(parent, "parent", index, malformed)
        if provider:
            split = self.providers.get(provider)
            if split is None:
                split = self.providers[provider] = self._provider(provider)
            provider = split
        known = urns.get(urn)
        if known is None:  # interned: the desired graph's URN is this object too (mlops_infra.graph)
            known = urns[urn] = intern(urn)
        urn = known
        rtype = urns.setdefault(rtype, rtype)  # a few dozen types, each named by thousands of resources
        inputs = inputs or {}
        parent = urns.get(parent, parent) if parent else None
        if self.packed:
            try:
                packed_inputs = _packed_json(inputs)
                own, keys = _outputs_apart(outputs or {}, inputs, self.output_names, packed_inputs)
                return StateResource.packed(urn, rtype, custom, rid or None, parent, provider or None,
                                            packed_inputs, _packed_json(own), keys, dependencies, protect, retain,
                                            init_errors, pending, taint, external)
            except TypeError:  # orjson.JSONEncodeError: not what orjson read; kept as objects
                pass
        return StateResource(urn=urn, type=rtype, custom=custom, id=rid or None, parent=parent,
                             provider=provider or None, inputs=inputs, outputs=_share_inputs(outputs or {}, inputs),
                             dependencies=dependencies, protect=protect, retain_on_delete=retain,
                             init_errors=init_errors, pending_replacement=pending, taint=taint, external=external)

    def _provider(self, provider: str) -> str:
        urn = split_provider_reference(provider)[0]
        return self.urns.get(urn, urn)

    def malformed_urns(self, entry: dict[str, Any], index: int) -> list[str]:
        """:func:`_malformed_urns` of ``entry``; a parent that is a URN found well formed before (the
        parent's own, read first) is not parsed again."""
        found: list[str] = []
        for field in ("urn", "parent"):
            value = entry.get(field)
            if isinstance(value, str) and value:
                self._check_urn(value, field, index, found)
        return found

    def _check_urn(self, value: str, field: str, index: int, found: list[str]) -> None:
        """Append ``resources[index] "field"`` to ``found`` when the URN ``value`` is malformed; one
        found well formed before (a parent is read first as a resource's own URN) is not parsed again."""
        if value in self.well_formed:
            return
        if self.shapes.parts_key(value) is None:
            found.append(f'resources[{index}] "{field}"')
        else:
            self.well_formed.add(value)


def _parse_resource(entry: Any, index: int, source: str) -> StateResource:
    where = f"resources[{index}]"
    if not isinstance(entry, dict):
        raise _shape_error(source, f"{where} is a JSON {_json_kind(entry)}, not an object")
    urn = _optional(entry, "urn", str, source, where)
    rtype = _optional(entry, "type", str, source, where)
    if not urn or rtype is None:
        raise _resource_error(source, entry, where, "urn" if not urn else "type")
    where = f"resource {urn}"
    provider = _optional(entry, "provider", str, source, where)
    dependencies = _optional(entry, "dependencies", list, source, where) or []
    if not all(isinstance(dep, str) for dep in dependencies):
        raise _shape_error(source, f'in {where}, "dependencies" must list URN strings')
    parent = _optional(entry, "parent", str, source, where) or None
    init_errors = _optional(entry, "initErrors", list, source, where) or []
    if not all(isinstance(reason, str) for reason in init_errors):
        raise _shape_error(source, f'in {where}, "initErrors" must list strings')
    return StateResource(
        urn=urn,
        type=rtype,
        custom=bool(_optional(entry, "custom", bool, source, where)),
        id=_optional(entry, "id", str, source, where) or None,
        parent=parent,
        provider=split_provider_reference(provider)[0] if provider else None,
        inputs=(inputs := _optional(entry, "inputs", dict, source, where) or {}),
        outputs=_share_inputs(_optional(entry, "outputs", dict, source, where) or {}, inputs),
        dependencies=tuple(dependencies),
        protect=bool(_optional(entry, "protect", bool, source, where)),
        retain_on_delete=bool(_optional(entry, "retainOnDelete", bool, source, where)),
        init_errors=tuple(init_errors),
        pending_replacement=bool(_optional(entry, "pendingReplacement", bool, source, where)),
        taint=bool(_optional(entry, "taint", bool, source, where)),
        external=bool(_optional(entry, "external", bool, source, where)),
    )


def _share_inputs(outputs: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """``outputs`` with each value that is the input of the same name (the same JSON text) replaced
    by that input's value, so that one object holds both: Pulumi's outputs repeat most inputs, and
    the copies were about a third of a read state's memory. State values are read, never changed."""
    for key, value in outputs.items():  # replacing values while iterating is allowed (no key changes)
        given = inputs.get(key, outputs)  # outputs: no such input
        if given is value or type(given) is not type(value) or given != value:
            continue
        if type(value) is str or _same_json(given, value):
            outputs[key] = given
    return outputs


_EMPTY_OBJECT = b"{}"


def _packed_json(value: dict[str, Any]) -> bytes:
    """orjson's compact bytes of the object ``value``, in a bytes object of their size: orjson
    returns its output in a buffer of at least a few KiB, whatever its length, and a state keeps
    two per resource."""
    return memoryview(orjson.dumps(value)).tobytes() if value else _EMPTY_OBJECT


def _outputs_apart(outputs: dict[str, Any], inputs: dict[str, Any], names: dict[tuple[str, ...], tuple[str, ...]],
                   packed_inputs: bytes | None = None) -> tuple[dict[str, Any], tuple[str, ...] | None]:
    """The outputs that do not repeat an input (the same JSON under the same name, as
    :func:`_share_inputs` finds them), and the order of all output names when some do (else
    None): what :meth:`StateResource.packed` stores. ``names`` keeps each order of names met
    (a dict of tuples to themselves, one per reader): resources of a type list the same outputs,
    and share one tuple. ``packed_inputs``: ``orjson.dumps(inputs)``, when the caller has it:
    outputs equal to the inputs that orjson writes as those bytes are the inputs (the same names in
    the same order, each value the same JSON), so none is kept, without comparing them one by one."""
    if packed_inputs is not None and outputs and outputs == inputs and _dumps_or_none(outputs) == packed_inputs:
        order = tuple(outputs)
        return {}, names.setdefault(order, order)
    own: dict[str, Any] = {}
    for key, value in outputs.items():
        given = inputs.get(key, outputs)  # outputs: no such input
        if given is value:
            continue
        kind = type(value)
        if (type(given) is not kind or given != value
                or (kind is not str and kind is not int and kind is not bool  # equal, maybe not the same JSON
                    and not _same_json(given, value))):
            own[key] = value
    if len(own) == len(outputs):
        return outputs, None
    order = tuple(outputs)
    return own, names.setdefault(order, order)


def _dumps_or_none(value: Any) -> bytes | None:
    """orjson's compact bytes of ``value``; None where orjson cannot write it."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits
        return None


def _same_json(one: Any, other: Any) -> bool:
    """Whether two equal values are also the same JSON (``1 == 1.0 == True`` in Python)."""
    try:
        return orjson.dumps(one) == orjson.dumps(other)
    except TypeError:  # what orjson does not write (integers beyond 64 bits): not shared
        return False


def _malformed_urns(entry: dict[str, Any], index: int) -> list[str]:
    """``resources[i] "urn"`` (or ``"parent"``) for every URN the engine could not have written."""
    return [f'resources[{index}] "{field}"' for field in ("urn", "parent")
            if isinstance(value := entry.get(field), str) and value and parse_urn(value) is None]


def check_integrity(prior: PriorState) -> None:
    """Refuse a state that cannot be planned against (call before planning; parsing is lenient).

    - Malformed URNs are named by their index in ``resources`` (never quoted: state text may hold
      secrets), with how to repair the file.
    - Resources of more than one stack or project are refused (see :func:`_check_one_stack`).
    """
    if prior.malformed_urns:
        listed = ", ".join(prior.malformed_urns[:5]) + (
            f" and {len(prior.malformed_urns) - 5} more" if len(prior.malformed_urns) > 5 else "")
        raise StateError(
            prior.source, "the state holds malformed resource URNs",
            f"{listed}: a Pulumi URN reads urn:pulumi:<stack>::<project>::<type>::<name>. The file was damaged "
            f"or edited by hand: restore {_RESTORE}, or fix or remove those entries (`pulumi stack export`, "
            f"edit, `pulumi stack import`).")
    _check_one_stack(prior.resources, prior.source)


def _check_one_stack(resources: dict[str, StateResource], source: str) -> None:
    """Every resource belongs to one stack of one project, as ``pulumi stack import`` requires.

    Pulumi refuses to import a deployment holding a resource "from a different stack" unless
    forced (pulumi/pulumi, ``SaveSnapshot`` behind ``pulumi stack import``: "importing this file
    could be dangerous; rerun with --force"). A mixed state here is refused too, never planned:
    the foreign resources would be planned for deletion and their protection for removal.
    """
    if _of_one_stack(resources):
        return
    counts: dict[tuple[str, str], int] = {}
    examples: dict[tuple[str, str], str] = {}
    shapes = _UrnShapes()
    for urn in resources:
        key = shapes.parts_key(urn)
        if key is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        examples.setdefault(key, urn)
    if len(counts) <= 1:
        return
    main = max(counts, key=lambda k: (counts[k], k))
    foreign = sorted(k for k in counts if k != main)
    listed = "; ".join(f"{counts[k]} of project {k[0]!r}, stack {k[1]!r} (e.g. {examples[k]})" for k in foreign[:3])
    raise StateError(
        source, "the state mixes resources of several stacks",
        f"Most resources belong to project {main[0]!r}, stack {main[1]!r}, but {listed}. Pulumi itself refuses "
        f"to import such a state without --force, and planning against it would delete or unprotect another "
        f"stack's resources. Export the right stack again (`pulumi stack export --stack <stack> --file "
        f"state.json`), or remove the foreign resources from a copy (`pulumi stack export`, edit, "
        f"`pulumi stack import`).")


def _of_one_stack(urns: Collection[str]) -> bool:
    """Whether the well-formed URNs among ``urns`` name one (project, stack) at most, as counting
    each one's (:meth:`_UrnShapes.parts_key`) finds, parsing few: a URN starting with the first
    well-formed one's ``urn:pulumi:<stack>::<project>::`` is of that stack or malformed (see
    :class:`_UrnShapes`), so only the URNs that do not are parsed."""
    shapes = _UrnShapes()
    first = next(filter(None, map(shapes.parts_key, urns)), None)
    if first is None:
        return True
    prefix = f"urn:pulumi:{first[1]}::{first[0]}::"
    others = [urn for urn in urns if not urn.startswith(prefix)]
    return all(shapes.parts_key(urn) in (None, first) for urn in others)


def _resource_error(source: str, entry: dict[str, Any], where: str, missing: str) -> StateError:
    known = {k: entry[k] for k in ("urn", "type") if isinstance(entry.get(k), str) and entry[k]}
    seen = f" It has {json.dumps(known)}." if known else ""
    return StateError(
        source, f'{where} has no "{missing}"',
        f'Every resource in a Pulumi state has a non-empty "urn" and a "type".{seen} The file was '
        f"damaged or edited by hand: restore {_RESTORE}, or fix or remove that entry "
        f"(`pulumi stack export`, edit, `pulumi stack import`).",
    )


def _duplicate_error(source: str, urn: str, index: int) -> StateError:
    return StateError(
        source, "the same resource appears twice",
        f"resources[{index}] repeats {urn}, and neither copy is marked for deletion; Pulumi itself "
        f"refuses such a state. Remove the stale copy with `pulumi state delete` or by "
        f"`pulumi stack export`, edit, `pulumi stack import`.",
    )


def _stack_identity(resources: Any) -> UrnParts | None:
    """(stack, project) from the root Stack resource's URN, else from the first parseable URN."""
    first: UrnParts | None = None
    for resource in resources:
        parts = parse_urn(resource.urn)
        if parts is None:
            continue
        if resource.type == ROOT_STACK_TYPE:
            return parts
        first = first or parts
    return first


def _secrets_provider(raw: Any, source: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _shape_error(source, f'"secrets_providers" is a JSON {_json_kind(raw)}, not an object')
    return _optional(raw, "type", str, source, '"secrets_providers"') or None


def _serial(deployment: dict[str, Any], source: str) -> str:
    try:
        canonical = jsoncodec.canonical_bytes(deployment)
    except (ValueError, RecursionError) as err:  # pragma: no cover - parsed JSON always dumps
        raise StateError(source, "cannot fingerprint the state", str(err)) from None
    return hashlib.sha256(canonical).hexdigest()


# --------------------------------------------------------------------------------------------
# File backend layout
# --------------------------------------------------------------------------------------------


def _split_stack_name(project: str, stack: str) -> tuple[str, str]:
    parts = stack.split("/")
    if len(parts) == 3 and parts[0] == "organization":
        project, stack = parts[1], parts[2]
    elif len(parts) == 2:
        project, stack = parts
    for label, name in (("project", project), ("stack", stack)):
        if not _NAME_RE.fullmatch(name) or name in (".", ".."):
            raise StateError(
                name, f"not a valid {label} name",
                f"{label.capitalize()} names use letters, digits, '_', '.' and '-' only "
                f"(a stack may be written organization/<project>/<stack>).",
            )
    return project, stack


def _uses_project_layout(root: Path) -> bool:
    """Whether ``pulumi`` reads this backend in project mode (see pulumi's diy ``meta.go``)."""
    meta_path = root / ".pulumi" / "meta.yaml"
    version = _meta_version(meta_path)
    if version is None:
        return not _has_legacy_stacks(root / ".pulumi" / "stacks")
    if version > 1:
        raise StateError(
            str(meta_path), f"unsupported file backend layout version {version}",
            "mlops-infra reads layout versions 0 and 1. Upgrade mlops-infra (`pip install -U mlops-infra`).",
        )
    return version == 1


def _meta_version(meta_path: Path) -> int | None:
    try:
        text = meta_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise StateError(str(meta_path), "cannot read the backend's meta.yaml", str(err)) from None
    import yaml  # only for a file backend that has a meta.yaml

    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError:
        meta = None
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise StateError(str(meta_path), "corrupt file backend: meta.yaml has no version",
                         "Pulumi refuses this backend too. Restore `.pulumi/meta.yaml` "
                         "(`version: 1` for project-scoped stacks).")
    return version


STACK_FILE_SUFFIXES = (".json", ".json.gz", ".json.zst")
"""The names a stack file has (pulumi/pulumi ``pkg/backend/diy/state.go`` ``stackPath``: ``plainPath``,
``+ encoding.GZIPExt``, ``+ encoding.ZSTDExt``), in the order a bucket lists them (by name)."""


def _has_legacy_stacks(stacks_dir: Path) -> bool:
    """Whether ``.pulumi/stacks`` holds a stack file itself (pulumi/pulumi ``pkg/backend/diy/store.go``
    ``legacyReferenceStore.ListReferences`` accepts ``.gz`` and ``.zst`` after ``.json``)."""
    try:
        return any(p.is_file() and p.name.endswith(STACK_FILE_SUFFIXES) for p in stacks_dir.iterdir())
    except OSError:
        return False


def _pick_stack_file(base: Path) -> Path | None:
    """``<base>.json``, ``<base>.json.gz`` or ``<base>.json.zst``, as pulumi/pulumi
    ``pkg/backend/diy/state.go`` ``stackPath`` picks it: the most recently modified one, walking the
    bucket's listing (sorted by name) and keeping a file unless it is older than the one kept
    (``!file.ModTime.Before(best.modTime)``), so on a tie the last by name wins: ``.json.zst``, then
    ``.json.gz``."""
    found = [(mtime, rank, path) for rank, suffix in enumerate(STACK_FILE_SUFFIXES)
             if (mtime := _mtime(path := base.with_name(base.name + suffix))) is not None]
    return max(found)[2] if found else None


def _mtime(path: Path) -> int | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns if path.is_file() else None
