"""A promotion from SRC to DST: direction checks, the version mapping and the edit of FILE.

Contract:
- :func:`choose_environments` checks the direction before anything is read: both environments
  exist (did-you-mean), they differ, DST promotes from something (``promote_from``), and SRC is the
  environment DST promotes from (without ``--from``, DST's ``promote_from`` is used). A promotion
  against ``promote_from``'s direction (``--from staging --to dev`` when staging promotes from dev)
  says so. Each refusal is a diagnostic at the line of the environment or its ``promote_from``.
- :func:`plan_promotion` is pure: the document's text, the two environments and their registry
  views in, a :class:`Promotion` out (mapping, pins, the edit, DST's effective system *after* the
  edit: DST's validated system with the pins applied). The edited text is read back and must be the
  original document with exactly the pins set in DST's overrides; anything else is a bug in
  mlops-infra, never written. DST's effective document built from the edited text (overrides in
  file order) must give every endpoint the mapped model and version: a later override that
  replaces a pin refuses the promotion at its line (``UserError``, nothing written). Problems of the
  mapping (fail closed) raise ``UserError``.
- Nothing here writes: :func:`write_promotion` writes the edited text atomically
  (:func:`mlops_infra.fileio.write_text_atomic`: a temporary file in the same folder, fsync, rename)
  only when it changed, after checking that FILE still holds the text the promotion was computed
  from (a concurrent edit is refused, not overwritten). The check and the write happen under the
  lock of FILE's directory (:func:`mlops_infra.fileio.locked`; ``promote --write`` holds it across
  FILE and the append to its ``releases.jsonl``: :func:`mlops_infra.promote.record.write_and_record`,
  built from :func:`check_unchanged` and :func:`write_edit`): ``rename(2)`` replaces whatever FILE
  holds, so without it two promotions of one FILE could both pass the check and the second would
  replace the first one's pins, both reporting them written (audit finding concurrency-2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_infra.diagnostics import did_you_mean, error, known_list
from mlops_infra.errors import UserError
from mlops_infra.model_versions import RegistryView
from mlops_infra.promote.edit import Edit, EditError, edit_overrides
from mlops_infra.promote.versions import VersionMap, map_versions


@dataclass(frozen=True)
class Promotion:
    """What promoting ``src`` into ``dst`` changes (see the module contract)."""

    src: str
    dst: str
    file: str
    versions: VersionMap
    edit: Edit
    dst_system: Any
    """DST's effective system after the edit (what its plan is made from)."""
    src_system: Any

    @property
    def changed(self) -> bool:
        return self.edit.changed


def refuse_unknown_environment(document: Any, name: str, flag: str, also: str = "") -> dict[str, Any]:
    """The document's ``environments`` mapping (empty when it has none); a :class:`UserError` with the
    ``unknown-environment`` diagnostic when ``name`` (given with ``flag``) is not one of them: the names
    it has, a "did you mean", then ``also``."""
    envs = document.data.get("environments") if isinstance(document.data, dict) else None
    envs = envs if isinstance(envs, dict) else {}
    if name not in envs:
        _refuse(document, "unknown-environment", f'No environment "{name}" ({flag})',
                f"Environments in this system: {known_list(envs)}.{did_you_mean(name, envs)}{also}", ("environments",))
    return envs


def choose_environments(document: Any, src: str | None, dst: str) -> tuple[str, str]:
    """(SRC, DST) after the direction checks (see the module contract)."""
    envs = refuse_unknown_environment(document, dst, "--to")
    if src is not None:
        refuse_unknown_environment(document, src, "--from")
    source = envs[dst].get("promote_from") if isinstance(envs[dst], dict) else None
    if src is not None and src == dst:
        _refuse(document, "same-environment", f"Cannot promote {dst} into itself",
                f"--from and --to name the same environment. {dst} promotes from "
                f"{source or 'no environment'}.", ("environments", dst))
    if source is None:
        downstream = sorted(n for n, e in envs.items() if isinstance(e, dict) and e.get("promote_from") == dst)
        hint = (f" Promotion flows the other way: {', '.join(downstream)} promote(s) from {dst}; "
                f"try --to {downstream[0]}." if downstream else " Add promote_from: <environment> to it.")
        _refuse(document, "no-promotion-source", f"Nothing is promoted into {dst}: it has no promote_from",
                f"A promotion copies what another environment serves into one that declares promote_from.{hint}",
                ("environments", dst))
    if src is None:
        return str(source), dst
    if src != source:
        upstream = _chain(envs, str(src))
        against = dst in upstream
        summary = (f"Promotion against promote_from's direction: {src} promotes from {dst}, not the other way"
                   if against else f"{dst} promotes from {source}, not from {src}")
        _refuse(document, "promotion-direction", summary,
                f"Promotion flows along promote_from ({' <- '.join([dst, *_chain(envs, dst)])}). "
                f"Promote into {dst} from {source}: --from {source} --to {dst} (or leave --from out).",
                ("environments", dst, "promote_from"))
    return src, dst


def _chain(envs: dict, start: str) -> list[str]:
    """The environments ``start`` promotes from, nearest first (bounded: cycles are invalid anyway)."""
    chain: list[str] = []
    current = envs.get(start, {}).get("promote_from") if isinstance(envs.get(start), dict) else None
    while isinstance(current, str) and current not in chain and len(chain) < len(envs):
        chain.append(current)
        nxt = envs.get(current)
        current = nxt.get("promote_from") if isinstance(nxt, dict) else None
    return chain


def _refuse(document: Any, code: str, summary: str, detail: str, path: tuple) -> None:
    raise UserError(summary, detail, diagnostics=document.attach([error(code, summary, detail, path)]))


def plan_promotion(text: str, name: str, src: str, src_system: Any, src_view: RegistryView, dst: str,
                   dst_system: Any, dst_view: RegistryView, *, data: Any = None) -> Promotion:
    """The promotion of ``src`` into ``dst`` for the document ``text`` (see the module contract).

    ``data`` is ``text`` as the loader parsed it (``LoadedDocument.data``), when the caller has it:
    the edited text is compared with it instead of parsing ``text`` again."""
    versions = map_versions(src, src_system, src_view, dst, dst_system, dst_view)
    if versions.problems:
        raise UserError(f"cannot promote {src} into {dst}: the artifacts {src} serves cannot be mapped",
                        "\n".join(f"- {p}" for p in versions.problems), source=name)
    try:
        edit = edit_overrides(text, dst, versions.pins)
    except EditError as err:
        raise UserError(f"cannot edit the overrides of {dst}", str(err), source=name) from None
    edited = _check_edit(text, edit.after, dst, versions.pins, data) if edit.changed else _read(text, dst, data)
    _check_effective(edited, text, name, dst, versions)
    after = _pinned(dst_system, dst, versions.pins)
    served_by = {e.name: e.model for e in after.endpoints}
    for mapping in versions.mappings:
        served = served_by[mapping.endpoint]
        if (served.name, served.version) != (mapping.model, mapping.dst_version):
            raise RuntimeError(f"the edit of {dst} pins {served.name} v{served.version} on {mapping.endpoint}, "
                               f"not {mapping.model} v{mapping.dst_version}: this is a bug in mlops-infra")
    return Promotion(src, dst, name, versions, edit, after, src_system)


def _read(text: str, env: str, data: Any = None) -> Any:
    """``text`` as the loader reads it (:func:`mlops_infra.spec.loader.parse_document`: the same
    parser, options and refusals as the next ``validate``), or ``data`` when given."""
    from mlops_infra.spec.loader import parse_document

    if data is not None:
        return data
    document, _ = parse_document(text, "<promotion>")
    if document is None:
        raise RuntimeError(f"the edit of environment {env} makes the document unreadable: this is a bug in "
                           "mlops-infra")
    return document.data


def _check_edit(before: str, after: str, env: str, pins: Any, old: Any = None) -> Any:
    """The edited text must read as the original document with exactly the pins set in ``env``'s
    overrides; anything else is a bug, never written. ``after`` is read by the loader itself
    (:func:`_read`), ``before`` too unless ``old`` is its data already; the two are compared
    section by section, without copying either. Returns ``after``'s data."""
    old = _read(before, env, old)
    new = _read(after, env)
    old_envs, new_envs = old.get("environments") or {}, new.get("environments") or {}
    old_env, new_env = old_envs.get(env) or {}, new_envs.get(env) or {}
    expected = {**(old_env.get("overrides") or {}), **{pin.key: pin.value for pin in pins}}
    same = (old.keys() == new.keys() and all(old[k] == new[k] for k in old if k != "environments")
            and old_envs.keys() == new_envs.keys() and all(old_envs[k] == new_envs[k] for k in old_envs if k != env)
            and old_env.keys() - {"overrides"} == new_env.keys() - {"overrides"}
            and all(old_env[k] == new_env[k] for k in old_env if k != "overrides"))
    got = new_env.get("overrides") or {}
    if not same or got != expected or any(type(got[pin.key]) is not type(pin.value) for pin in pins):
        raise RuntimeError(f"the edit of environment {env} changes more than its pins: this is a bug in mlops-infra")
    return new


def _check_effective(edited: Any, text: str, name: str, env: str, versions: VersionMap) -> None:
    """What the edited file makes ``env`` serve, read as the loader reads it: no pin may be one that a
    later override of ``env`` replaces (:func:`mlops_infra.spec.effective.replaced_overrides`, the one
    rule of override order, which ``validate`` reports as ``override-replaced``), and ``env``'s
    effective document (:func:`~mlops_infra.spec.effective.apply_overrides`) must give every endpoint
    the model name and version of its mapping. A later override that replaces the pin
    (``endpoints.scorer.model: {name: ..., version: 13}`` after ``endpoints.scorer.model.version``) is
    refused at its line, even when it holds the same version: the report, the plan and the release
    record would otherwise show a pin the file does not apply (or one the next edit of the later
    override silently undoes)."""
    from mlops_infra.spec.effective import apply_overrides, replaced_overrides

    overrides = ((edited.get("environments") or {}).get(env) or {}).get("overrides") or {}
    keys = [str(k) for k in overrides]
    replaced = {keys[i]: keys[j] for i, j in replaced_overrides(keys).items()}
    effective, _, _ = apply_overrides(edited, env)
    served = {e.get("name"): e.get("model") for e in effective.get("endpoints") or () if isinstance(e, dict)}
    for mapping in versions.mappings:
        model = served.get(mapping.endpoint)
        got = (model.get("name"), model.get("version")) if isinstance(model, dict) else (None, None)
        field = f"endpoints.{mapping.endpoint}.model"
        later = [replaced[k] for k in (f"{field}.name", f"{field}.version") if k in replaced]
        if later or got != (mapping.model, mapping.dst_version):
            _refuse_overridden(edited, text, name, env, mapping, got, max(later, key=keys.index, default=None))


def _refuse_overridden(edited: Any, text: str, name: str, env: str, mapping: Any, got: tuple,
                       key: str | None) -> None:
    """Refuse at the line of ``key``, the override of ``env`` that replaces ``mapping``'s pin (None:
    at ``env``'s overrides, for a served model that no later override explains)."""
    from mlops_infra.spec.loader import parse_document

    field = f"endpoints.{mapping.endpoint}.model"
    effect = ("replaces the pin" if got == (mapping.model, mapping.dst_version)
              else f"makes it serve {got[0]} v{got[1]}")
    summary = (f"cannot pin {mapping.model} v{mapping.dst_version} on endpoint {mapping.endpoint} in {env}: "
               f"{'the override ' + key if key else 'another value'} comes later and {effect}")
    detail = (f"Overrides apply in file order, so a later override of {field} (or of a mapping holding it) replaces "
              f"the pin. Remove that override, or set the pin inside it ({field}: {{name: {mapping.model}, version: "
              f"{mapping.dst_version}}}), then promote again. Nothing was written.")
    document, _ = parse_document(text, name)
    path = ("environments", env, "overrides", key) if key else ("environments", env, "overrides")
    diagnostics = document.attach([error("promotion-pin-overridden", summary, detail, path)]) if document else []
    raise UserError(summary, detail, source=name, diagnostics=diagnostics)


def _pinned(system: Any, env: str, pins: Any) -> Any:
    """``system`` (DST's effective system) with the pins applied: what the edited file makes it (the
    pins only set endpoints' model name and version, which no cross-field rule reads). Built with
    :meth:`~mlops_infra.spec.system.MLSystem.with_updates`, so the system's cached indexes (items by
    name, which the compilers read) describe the pinned endpoints, not those before the pins."""
    wanted: dict[str, dict[str, Any]] = {}
    for pin in pins:
        _, endpoint, _, field = pin.key.split(".", 3)
        wanted.setdefault(endpoint, {})[field] = pin.value
    if not wanted:
        return system
    endpoints = [e.model_copy(update={"model": e.model.model_copy(update=wanted[e.name])}) if e.name in wanted else e
                 for e in system.endpoints]
    environment = system.environments[env]
    overrides = {**environment.overrides, **{pin.key: pin.value for pin in pins}}
    environments = {**system.environments, env: environment.model_copy(update={"overrides": overrides})}
    return system.with_updates({"endpoints": endpoints, "environments": environments})


def write_promotion(path: Path, promotion: Promotion, original: bytes) -> bool:
    """Write the edited text to ``path`` atomically when it changed; True when written.

    ``original`` is the bytes the promotion was computed from: the file must still hold them, and
    a UTF-8 byte order mark they start with is kept. The re-read and the write are one step under
    the lock of FILE's directory (see the module contract). ``promote --write`` writes FILE and its
    release record under one lock instead (:func:`mlops_infra.promote.record.write_and_record`).
    """
    from mlops_infra.fileio import locked

    if not promotion.changed:
        return False
    with locked(path, what="system file"):
        check_unchanged(path, original)
        write_edit(path, promotion, original)
    return True


def check_unchanged(path: Path, original: bytes) -> None:
    """Refuse when ``path`` no longer holds ``original``. The caller holds the lock of its directory."""
    try:
        current = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read the file again before writing: {err.strerror or err}",
                        source=str(path)) from None
    if current != original:
        raise UserError("the file changed while the promotion was computed; nothing was written",
                        "Run the promotion again.", source=str(path))


def write_edit(path: Path, promotion: Promotion, original: bytes) -> None:
    """Replace ``path`` with the promoted text atomically, keeping ``original``'s UTF-8 byte order mark.
    The caller holds the lock of its directory and has checked it still holds ``original``."""
    from mlops_infra.fileio import write_text_atomic

    try:
        bom = "\ufeff" if original.startswith(b"\xef\xbb\xbf") else ""
        write_text_atomic(path, bom + promotion.edit.after)
    except OSError as err:
        raise UserError(f"cannot write the promotion: {err.strerror or err}", source=str(path)) from None
