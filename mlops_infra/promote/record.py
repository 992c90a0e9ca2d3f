"""The release record: one JSON line per written promotion in ``releases.jsonl`` beside FILE.

Contract:
- :func:`release_entry` (pure) builds the line: ``who`` (git ``user.name <user.email>`` where FILE
  is, else ``$USER``: :func:`who_am_i`), ``when`` (UTC, ISO 8601), ``file``, ``src``, ``dst``, per
  endpoint the model, SRC's and DST's version, the artifact digest and its lineage as the registries
  give it (artifact URI, image and image digest), the gate results, the skipped gates with their
  reasons, the pins written and the plan digest (SHA-256 of DST's plan JSON), so an auditor can
  trace data revision -> training job -> model version -> endpoint configuration.
- :func:`append_release` adds the line atomically: the whole file is rewritten through
  :func:`mlops_infra.fileio.write_text_atomic` (a crash leaves the old file or the new one, never a
  torn line). Lines already there are kept byte for byte, also those other processes append
  meanwhile: the file is shared by every system file of its directory (and every DST), and the
  read and the rewrite happen under the directory's lock (:func:`mlops_infra.fileio.locked`),
  since ``rename(2)`` would otherwise let the second of two writers replace the first one's line
  (audit finding concurrency-1).
- :func:`write_and_record` is ``promote --write``'s one step (audit robust-7): under one lock of
  FILE's directory (FILE and ``releases.jsonl`` share it) it checks FILE still holds the text the
  promotion was computed from, reads and decodes ``releases.jsonl`` (a regular UTF-8 file, or
  none), and only then writes FILE and the record. When the record's write still fails, FILE's
  original bytes are put back atomically and the error says nothing was written: FILE is never left
  promoted without its record (a re-run would find nothing to change and never record it).
- :func:`read_releases` returns the records (a line that is not JSON is reported as an error with
  its line number, never skipped silently).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlops_infra.errors import UserError

RELEASES = "releases.jsonl"
READ_LIMIT = 64 * 1024 * 1024


def releases_path(file: Path) -> Path:
    return file.resolve().parent / RELEASES


def plan_digest(plan_json: str) -> str:
    return "sha256:" + hashlib.sha256(plan_json.encode("utf-8")).hexdigest()


def release_entry(promotion: Any, gates: Sequence[Any], skips: dict[str, str], *, who: str, when: str,
                  plan_sha: str) -> dict[str, Any]:
    """The record of a written promotion (see the module contract)."""
    return {
        "who": who, "when": when, "file": promotion.file, "src": promotion.src, "dst": promotion.dst,
        "versions": [{"endpoint": m.endpoint, "model": m.model, "srcVersion": m.src_version, "dstVersion": m.dst_version,
                      "digest": m.digest, "registeredInDst": m.registered,
                      "lineage": {"artifactUri": m.src_record.artifact_uri, "image": m.src_record.image,
                                  "imageDigest": m.src_record.image_digest, "srcRegistry": m.src_where,
                                  "dstRegistry": m.dst_where}}
                     for m in promotion.versions.mappings],
        "pins": [{"key": p.key, "value": p.value} for p in promotion.versions.pins],
        "gates": [g.to_json() for g in gates],
        "skippedGates": [{"name": n, "reason": r} for n, r in sorted(skips.items())],
        "planDigest": plan_sha,
    }


def who_am_i(folder: Path) -> str:
    """``name <email>`` from git config where FILE is, else ``$USER`` (else ``unknown``). ``git config`` prints
    the value's bytes as the config file holds them, UTF-8 as git writes them (Git for Windows converts its
    command line to UTF-8: git mailing list, "[PATCH 6/7] Win32: Unicode arguments (incoming)", 2014; git-config(1)
    ``i18n.commitEncoding`` "Defaults to utf-8"); so they are read as UTF-8, not in the locale's code page
    (Windows' ANSI one: ``Łukasz`` was written to releases.jsonl as mojibake; audit portab45-8)."""
    values = []
    for key in ("user.name", "user.email"):
        try:
            found = subprocess.run(["git", "config", key], cwd=folder, capture_output=True, encoding="utf-8",
                                   errors="replace", timeout=5, check=False)
            values.append(found.stdout.strip() if found.returncode == 0 else "")
        except (OSError, subprocess.SubprocessError):
            values.append("")
    name, email = values
    if name or email:
        return f"{name} <{email}>".strip() if email else name
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def release_text(file: Path, entry: dict[str, Any]) -> str:
    """``entry`` as the line :func:`append_release` writes, after the redaction layer (a secret
    shape refuses it: :class:`~mlops_infra.secrets.SecretInOutputError`). Callers check it before
    they write FILE, so a refused record never leaves FILE promoted without its record."""
    from mlops_infra.secrets import check_output

    line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
    check_output(line, f"the release record {releases_path(file)}")
    return line


def append_release(file: Path, entry: dict[str, Any]) -> Path:
    """Append ``entry`` as one line to ``releases.jsonl`` beside ``file`` (atomically, under its lock)."""
    from mlops_infra.fileio import locked

    path = releases_path(file)
    line = release_text(file, entry)
    with locked(path, what="release record"):
        _write_record(path, _existing_record(path), line)
    return path


def write_and_record(file: Path, promotion: Any, original: bytes, entry: dict[str, Any]) -> bool:
    """Write the promotion to ``file`` and append ``entry`` to its ``releases.jsonl`` as one step
    (see the module contract); True when written, False when the promotion changes nothing."""
    from mlops_infra.fileio import locked, write_bytes_atomic
    from mlops_infra.promote.promote import check_unchanged, write_edit

    if not promotion.changed:
        return False
    path = releases_path(file)
    line = release_text(file, entry)
    with locked(file, what="system file and its release record"):  # one directory: one lock (never nested)
        check_unchanged(file, original)
        existing = _existing_record(path)  # before FILE is touched
        write_edit(file, promotion, original)
        try:
            _write_record(path, existing, line)
        except UserError as err:
            try:
                write_bytes_atomic(file, original)
            except OSError as again:
                raise UserError(f"{err.summary}; and {file} could not be put back ({again.strerror or again}): "
                                "it holds the promotion, with no release record",
                                f"Restore {file} from version control, fix {path}, then run the promotion again.",
                                source=str(path)) from None
            raise UserError(f"{err.summary}; {file} was put back as it was: nothing was written",
                            f"Fix {path} (free space, permissions), then run the promotion again.",
                            source=str(path)) from None
    return True


def _existing_record(path: Path) -> str:
    """``releases.jsonl``'s text ("" when there is none), ending with a newline. The caller holds the lock."""
    problem = ""
    try:
        if path.is_symlink() or path.exists():
            if not path.is_file():
                problem = "it is not a regular file"
            else:
                existing = path.read_bytes().decode("utf-8")
                return existing if not existing or existing.endswith("\n") else existing + "\n"
        else:
            return ""
    except (OSError, UnicodeDecodeError) as err:
        problem = str(err)
    raise UserError(f"cannot read the release record: {problem}; nothing was written",
                    "releases.jsonl is UTF-8 text, one JSON object a line, written by `mlops-infra promote --write`: "
                    "fix or move it, then run the promotion again.", source=str(path))


def _write_record(path: Path, existing: str, line: str) -> None:
    from mlops_infra.fileio import write_text_atomic

    try:
        write_text_atomic(path, existing + line)
    except OSError as err:
        raise UserError(f"cannot write the release record: {err.strerror or err}", source=str(path)) from None


def read_releases(path: Path) -> list[dict[str, Any]]:
    """Every record in ``path`` (none when it does not exist). A line that is not a JSON object, or whose
    ``versions``, ``pins``, ``gates`` or ``skippedGates`` is not an array of objects (what
    :func:`release_entry` writes; the file is committed, merged and edited by hand), is a UserError at
    ``path:line`` naming the field (:func:`check_release`), never an internal error later."""
    from mlops_infra.fileio import TooLarge, read_limited

    if not path.exists():
        return []
    try:
        text = read_limited(path, READ_LIMIT).decode("utf-8")
    except (OSError, UnicodeDecodeError, TooLarge) as err:
        raise UserError(f"cannot read the release record: {err}", source=str(path)) from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise UserError(f"line {number} is not a JSON release record: {err}",
                            "Each line of releases.jsonl is one JSON object written by `mlops-infra promote --write`.",
                            source=f"{path}:{number}") from None
        if not isinstance(record, dict):
            raise UserError(f"line {number} is not a JSON object", source=f"{path}:{number}")
        check_release(record, f"{path}:{number}", number)
        records.append(record)
    return records


RELEASE_ARRAYS = ("versions", "pins", "gates", "skippedGates")
"""The fields of a release record that :func:`release_entry` writes as arrays of objects."""


def check_release(record: dict[str, Any], source: str, number: int) -> None:
    """A UserError at ``source`` when a :data:`RELEASE_ARRAYS` field of ``record`` (line ``number``) is
    there and is not an array of objects (absent or null: none, as :func:`release_line` reads it)."""
    fix = ("Each line of releases.jsonl is one JSON object written by `mlops-infra promote --write`: restore the "
           "line from version control (`git log -p releases.jsonl`), or remove it.")
    for key in RELEASE_ARRAYS:
        value = record.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise UserError(f'line {number}: "{key}" is {json_kind(value)} where promote writes an array of objects',
                            fix, source=source)
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise UserError(f'line {number}: "{key}"[{index}] is {json_kind(item)} where promote writes an '
                                "object", fix, source=source)


def json_kind(value: Any) -> str:
    """``value``'s JSON type for a message (never its text)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def release_line(record: dict[str, Any]) -> str:
    """One release for a terminal: when, who, SRC -> DST, versions, gates."""
    versions = ", ".join(f"{v.get('endpoint')}: {v.get('model')} v{v.get('srcVersion')} -> v{v.get('dstVersion')} "
                         f"({str(v.get('digest'))[:19]})" for v in record.get("versions") or ())
    gates = ", ".join(f"{g.get('name')} {g.get('status')}" for g in record.get("gates") or ()) or "no gates"
    skipped = "; ".join(f"{s.get('name')} skipped: {s.get('reason')}" for s in record.get("skippedGates") or ())
    text = f"{record.get('when')}  {record.get('src')} -> {record.get('dst')}  by {record.get('who')}\n" \
           f"    {versions or 'no versions'}\n    gates: {gates}"
    return text + (f"\n    {skipped}" if skipped else "")
