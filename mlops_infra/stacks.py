"""Pulumi stack directories for a user's system: scaffold them (``mlops-infra init``) and recognise
them (``mlops-infra plan`` run inside ``stacks/<env>/``).

Contract:
- :func:`scaffold_files` is pure: for a system (its name and environments) and the path of its file,
  it returns every file ``init`` writes, as ``{relative path: text}`` under the target directory:
  ``Pulumi.yaml`` (project = the system's name, the Python runtime, ``main: stacks/``, project-level
  config ``mlops:systemFile``), ``stacks/__main__.py`` (the program of that root project, where the
  stack name is the environment), and per environment ``stacks/<env>/Pulumi.yaml``,
  ``stacks/<env>/Pulumi.<env>.yaml`` (``mlops:systemFile`` relative to the stack directory, which is
  where Pulumi runs the program, and ``mlops:environment``), ``stacks/<env>/__main__.py`` and
  ``stacks/<env>/requirements.txt`` (the mlops-infra that ran ``init``, from where it was installed:
  :func:`requirement_line`, and the Pulumi SDKs pinned to :data:`mlops_infra.sdk_pins.SDK_PINS`:
  :func:`stack_requirements`). The project name is the system's name, so the URNs the program
  registers are the ones ``mlops-infra plan`` computes.
- :func:`stack_context` recognises a directory holding a Pulumi project whose stack configuration
  (``Pulumi.<stack>.yaml``) or project configuration (``Pulumi.yaml`` ``config:``) names
  ``mlops:systemFile``: it returns that system file (resolved against the directory) and the
  environment (``mlops:environment``, else the stack name). Files are only read.
- :func:`stands_for` says whether a stack directory's ``mlops:systemFile`` stands for a given
  system file when choosing the directory whose state to plan against: that file, or a path that
  no longer exists (stored by another checkout or machine).
- :func:`pinned_version_warning` says when a stack directory's ``requirements.txt`` pins another
  mlops-infra version than the one planning: ``pulumi up`` there runs the pinned one (audit monorepo-3); else
  when it pins a Pulumi SDK at another version than the plan's rules follow (:func:`pinned_sdk_versions`).
- :func:`requirement_pins` is the one reader of a stack's ``requirements.txt`` behind both warnings: the exact pins
  ``pip install -r requirements.txt`` reads there, following pip's requirements file format (continuations,
  comments, per-requirement options such as ``--hash``, ``-r``/``-c`` includes, environment markers).
- :func:`policy_pack_files` writes ``mlops-infra policy-pack``'s directory, its ``requirements.txt`` pinned to
  :func:`mlops_infra.sdk_pins.policy_pin_lines`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlops_infra.errors import UserError

CONFIG_FILE_KEY = "mlops:systemFile"
CONFIG_ENV_KEY = "mlops:environment"

PROGRAM = '''"""Pulumi program of this stack: registers the desired graph of {what} (mlops-infra, docs/pulumi.md)."""

from mlops_infra.program import run

run()
'''


@dataclass(frozen=True)
class StackContext:
    """A stack directory's system and environment, as its Pulumi configuration names them."""

    directory: Path
    system_file: Path
    env: str | None
    stack: str | None
    config_file: Path


def stands_for(named: Path, this: Path) -> bool:
    """Whether a stack directory's ``mlops:systemFile`` (``named``, resolved against the directory)
    stands for the system file ``this`` when choosing the stack directory of ``this``
    (:meth:`mlops_infra.cli.inputs.Target.stack_dir`): it is that file, or it does not exist, which
    says nothing about the directory's system: a path another checkout or machine stored (apply
    wrote the absolute path of its spec there until 2026-12-06, so a committed ``Pulumi.<env>.yaml``
    names e.g. ``/home/alice/src/repo/mlsystem.yaml`` in a teammate's clone or on CI; audit
    closing-33a-1). The state is then looked up by this system's own project and stack there, and
    apply checks the directory's Pulumi project (:func:`mlops_infra.apply.engine.check_stack_dir`).
    A file that exists and is not ``this`` (another system's, or another copy of this one, as
    ``check_stack_dir`` refuses it) does not stand for it.

    The same file is the same ``(st_dev, st_ino)`` (:func:`os.path.samefile`), not the same resolved path text: on
    a case-insensitive disk (APFS, macOS's default) ``MLSystem.yaml`` and ``mlsystem.yaml`` are one file, and
    :meth:`pathlib.Path.resolve` keeps the case as typed on POSIX (CPython ``posixpath._joinrealpath`` only follows
    links), so the text differs (audit portab45-6)."""
    if not named.is_file():
        return True
    try:
        return os.path.samefile(named, this)
    except OSError:  # ``this`` gone meanwhile: it is not that file
        return False


@dataclass(frozen=True)
class InstalledFrom:
    """Where the running mlops-infra was installed from (its ``direct_url.json``, PEP 610), so a stack's
    ``requirements.txt`` installs the same thing: ``directory`` (a local checkout, ``editable`` or not),
    else ``url`` (a wheel or archive; ``vcs`` + ``commit`` for a VCS checkout), else ``version`` from
    the package index. The name alone is never written: ``mlops-infra`` on an index may be someone
    else's package (Pulumi runs ``pip install -r requirements.txt`` when it creates a stack's virtualenv,
    e.g. on a CI runner)."""

    version: str | None = None
    directory: Path | None = None
    editable: bool = False
    url: str | None = None
    vcs: str | None = None
    commit: str | None = None


def requirement_line(installed: InstalledFrom | None, stack_dir: Path) -> str:
    """The ``requirements.txt`` line of a stack directory for ``installed`` (see :class:`InstalledFrom`)."""
    if installed is not None and installed.directory is not None:
        source, here = Path(installed.directory).resolve(), Path(stack_dir).resolve()
        if os.path.commonpath([source, here]) == here.anchor:  # nothing in common: the path as it is
            where = source.as_posix()
        else:  # one repository: relative, so it survives a clone elsewhere
            where = _relative(source, here)
            where = where if where.startswith(".") else "./" + where
        return f"{'-e ' if installed.editable else ''}{where}[pulumi]"
    if installed is not None and installed.url:
        url = f"{installed.vcs}+{installed.url}@{installed.commit}" if installed.vcs else installed.url
        return f"mlops-infra[pulumi] @ {url}"
    if installed is not None and installed.version:
        return f"mlops-infra[pulumi]=={installed.version}"
    return "mlops-infra[pulumi]"


def pinned_version(stack_dir: Path) -> tuple[str, Path, int] | None:
    """The mlops-infra version ``stack_dir/requirements.txt`` pins, with the file and line of the pin, else None (no
    file, unreadable, or no ``mlops-infra...==X`` pip reads from it, a ``-r``/``-c`` file included: an ``-e
    <path>``, a URL or an unpinned name). Read by :func:`requirement_pins`."""
    pin = requirement_pins(stack_dir).get("mlops-infra")
    return None if pin is None else (pin.version, pin.path, pin.line)


def _same_version(a: str, b: str) -> bool:
    """PEP 440 equality of two versions as far as the release segment goes (``1.0`` == ``1.0.0``, a leading
    ``v`` and case ignored); the rest compared as text."""

    def release(text: str) -> tuple[list[str], str]:
        found = re.match(r"^v?(\d+(?:\.\d+)*)(.*)$", text.strip().lower())
        if not found:
            return [text.strip().lower()], ""
        parts = found.group(1).split(".")
        while len(parts) > 1 and int(parts[-1]) == 0:
            parts.pop()
        return [str(int(p)) for p in parts], found.group(2)

    return release(a) == release(b)


def pinned_version_warning(stack_dir: Path, running: str | None = None) -> str | None:
    """The plan warning when ``stack_dir/requirements.txt`` pins ``mlops-infra==B`` and the running
    mlops-infra (``running``, else :func:`importlib.metadata.version`) is another version A, else None.
    ``pulumi up`` in a stack directory runs the program in a virtualenv Pulumi fills with ``pip install -r
    requirements.txt`` from that directory (pulumi/pulumi ``sdk/python/toolchain/pip.go``
    ``InstallDependencies``), so the resources applied are compiled by B, not by the A that made the plan.
    The version is not written into the plan itself (its text and JSON would move with every release).

    Without a pin of another version (``-e <checkout>``, a URL, no line for mlops-infra, or this version), the stack
    runs this mlops-infra's code, but may still pin a provider SDK at another version than this mlops-infra's plan
    rules follow (:data:`mlops_infra.sdk_pins.SDK_PINS`; :func:`pinned_sdk_versions`): a stack scaffolded before an
    upgrade of the pins, or a pin edited by hand. That is the warning then (audit pin44-3): ``up`` there loads that
    provider version, whose stored inputs the plan does not describe."""
    pinned = pinned_version(stack_dir)
    if pinned is None:
        return _sdk_pin_warning(stack_dir)
    if running is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            running = version("mlops-infra")
        except PackageNotFoundError:  # a source tree never installed: nothing to compare
            return _sdk_pin_warning(stack_dir)
    wanted, path, line = pinned
    if _same_version(running, wanted):
        return _sdk_pin_warning(stack_dir)
    return (f"this plan was made by mlops-infra {running}; `pulumi up` in {Path(stack_dir)} installs {wanted} "
            f"({path}:{line}): plan with {wanted} "
            f"(`pip install 'mlops-infra=={wanted}'`), or change the pin to {running}")


# -- a stack's requirements.txt, read as pip reads it -------------------------------------------


@dataclass(frozen=True)
class RequirementPin:
    """An exact pin pip reads in a requirements file: ``name`` (PEP 503 normalised), ``version`` (of the ``==``
    specifier, as written), ``path`` and ``line`` (the first of the lines a trailing backslash joins),
    ``constraint`` (read from a ``-c`` file: it fixes the version of whatever installs that name)."""

    name: str
    version: str
    path: Path
    line: int
    constraint: bool


_COMMENT = re.compile(r"(^|\s+)#.*$")
"""pip's ``COMMENT_RE`` (pip 23.2.1 ``src/pip/_internal/req/req_file.py`` line 46): ``#`` at the start of a line or
after whitespace starts a comment; ``pkg==1.0#x`` has none."""
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
"""pip's ``ENV_VAR_RE`` (req_file.py line 52): ``${NAME}`` is replaced by a non-empty environment variable."""
_URL = re.compile(r"^(http|https|file):", re.I)
"""pip's ``SCHEME_RE`` (req_file.py line 45): a ``-r``/``-c`` target fetched as a URL, which is not read here."""
_OPTIONS = {("-i", "--index-url", "--pypi-url"): "index_url", ("--extra-index-url",): "extra_index_urls",
            ("--no-index",): None, ("-c", "--constraint"): "constraints", ("-r", "--requirement"): "requirements",
            ("-e", "--editable"): "editables", ("-f", "--find-links"): "find_links", ("--no-binary",): "no_binary",
            ("--only-binary",): "only_binary", ("--prefer-binary",): None, ("--require-hashes",): None,
            ("--pre",): None, ("--trusted-host",): "trusted_hosts", ("--use-feature",): "features_enabled",
            ("--global-option",): "global_options", ("--hash",): "hashes", ("-C", "--config-settings"): "config"}
"""The options a requirements file line may carry, as pip 23.2.1 declares them (req_file.py ``SUPPORTED_OPTIONS``
and ``SUPPORTED_OPTIONS_REQ``, lines 54-75; their spellings in ``src/pip/_internal/cli/cmdoptions.py``): option
strings -> the destination of a value (appended), None for a flag. Parsed with :mod:`optparse` as pip does, so
``-cFILE``, ``--constraint=FILE`` and an unambiguous prefix (``--constr FILE``) are read as pip reads them."""

_MAX_FILES = 32


def requirement_pins(stack_dir: Path) -> dict[str, RequirementPin]:
    """Each distribution ``pip install -r requirements.txt`` run in ``stack_dir`` pins with ``==`` (a requirement
    or a constraint; not ``===`` nor ``==X.*``) -> its first pin, in the order pip reads the lines. Pulumi runs that
    command there when it creates a stack's virtualenv (pulumi/pulumi ``sdk/python/toolchain/pip.go``
    ``InstallDependencies``: ``pipCmd.Dir = cwd``).

    The file is read as pip reads it (pip's "Requirements File Format",
    https://pip.pypa.io/en/stable/reference/requirements-file-format/; pip 23.2.1
    ``src/pip/_internal/req/req_file.py``): a line ending in a backslash continues on the next (``join_lines``, line
    461; not a comment line), comments are stripped after that (``ignore_comments``, 492), ``${VAR}`` is expanded
    (``expand_env_variables``, 503); a line is split into the requirement and its options at the first word starting
    with ``-`` (``break_args_options``, 416), so ``name==1.0 --hash=sha256:...`` is a pin of 1.0; a line of options
    alone naming ``-r``/``-c`` files is followed at that point, the path joined to the directory of the file naming
    it (``_parse_and_recurse``, 337-364: ``os.path.join(os.path.dirname(filename), req_path)``). The requirement is
    parsed as PEP 508 by ``packaging.requirements.Requirement`` (pip's own parser, vendored); one whose environment
    marker is false for this interpreter is skipped, as pip skips it (with ``extra`` empty; the stack's virtualenv is
    made by the ``python`` Pulumi finds, usually this one). An ``-e``/path/URL line pins nothing. A missing or
    unreadable file, a URL, a line pip would refuse (pip then says so at ``pulumi up``), and a file already being
    read (pip would recurse for ever) are skipped."""
    found: dict[str, RequirementPin] = {}
    for pin in _read_pins(Path(stack_dir) / "requirements.txt", False, []):
        found.setdefault(pin.name, pin)
    return found


def _read_pins(path: Path, constraint: bool, reading: list[Path]) -> list[RequirementPin]:
    """The pins of one requirements file and of the files it names, in pip's order (see :func:`requirement_pins`)."""
    if path in reading or len(reading) >= _MAX_FILES:
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return []
    pins: list[RequirementPin] = []
    for number, line in _logical_lines(text):
        split = _split_line(line)
        if split is None:
            continue
        requirement, options = split
        nested = options.get("requirements") or options.get("constraints")
        if not requirement and not options.get("editables") and nested:
            if not _URL.search(nested[0]):
                target = Path(os.path.normpath(os.path.join(os.path.dirname(path), nested[0])))
                pins += _read_pins(target, not options.get("requirements"), [*reading, path])
            continue
        pin = _pin_of(requirement, path, number, constraint) if requirement else None
        if pin is not None:
            pins.append(pin)
    return pins


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each line pip reads: continuations joined, comments stripped, empty lines
    dropped, ``${VAR}`` expanded (pip 23.2.1 req_file.py ``preprocess``, lines 156-165)."""
    joined: list[tuple[int, str]] = []
    start, parts = 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.endswith("\\") and not _COMMENT.match(line):
            start = start if parts else number
            parts.append(line.strip("\\"))
            continue
        line = " " + line if _COMMENT.match(line) else line
        joined.append((start, "".join([*parts, line])) if parts else (number, line))
        parts = []
    if parts:
        joined.append((start, "".join(parts)))
    lines = []
    for number, line in joined:
        line = _COMMENT.sub("", line).strip()
        if line:
            lines.append((number, _ENV_VAR.sub(lambda m: os.environ.get(m.group(1)) or m.group(0), line)))
    return lines


def _split_line(line: str) -> tuple[str, dict[str, Any]] | None:
    """A logical line's requirement text and its options (destination -> values, see :data:`_OPTIONS`), split as pip
    splits them (``break_args_options`` then ``shlex.split`` and :mod:`optparse`); None where pip would refuse it."""
    import shlex

    words = line.split(" ")
    first = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
    try:
        options, _ = _option_parser().parse_args(shlex.split(" ".join(words[first:])))
    except ValueError:
        return None
    return " ".join(words[:first]), {k: v for k, v in vars(options).items() if v}


@cache
def _option_parser() -> Any:
    """An :mod:`optparse` parser of :data:`_OPTIONS` that raises ValueError where pip's raises
    ``OptionParsingError`` (req_file.py ``build_parser``, 438-458)."""
    import optparse

    def refuse(status: int = 0, msg: str | None = None) -> None:
        raise ValueError(msg)

    parser = optparse.OptionParser(add_help_option=False)
    parser.exit = refuse  # type: ignore[method-assign]
    for strings, dest in _OPTIONS.items():
        if dest:
            parser.add_option(*strings, dest=dest, action="append")
        else:
            parser.add_option(*strings, action="store_true")
    return parser


def _pin_of(text: str, path: Path, line: int, constraint: bool) -> RequirementPin | None:
    """The exact pin of a PEP 508 requirement (see :func:`requirement_pins`), else None."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        requirement = Requirement(text)
    except InvalidRequirement:  # a path or an archive URL: pip installs it as a link, no version pinned
        return None
    if requirement.url or (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
        return None
    exact = sorted(s.version for s in requirement.specifier if s.operator == "==" and not s.version.endswith(".*"))
    if not exact:
        return None
    return RequirementPin(canonicalize_name(requirement.name), exact[0], path, line, constraint)


def pinned_sdk_versions(stack_dir: Path) -> dict[str, tuple[str, Path, int]]:
    """Each distribution of :data:`mlops_infra.sdk_pins.SDK_PINS` that ``stack_dir/requirements.txt`` pins with
    ``==`` -> (version, file, line), as pip reads the file and the ``-c``/``-r`` files it names
    (:func:`requirement_pins`)."""
    from mlops_infra.sdk_pins import SDK_PINS

    return {name: (pin.version, pin.path, pin.line) for name, pin in requirement_pins(stack_dir).items()
            if name in SDK_PINS}


def _sdk_pin_warning(stack_dir: Path) -> str | None:
    """The warning of :func:`pinned_version_warning` for provider SDK pins other than :data:`SDK_PINS`, else None
    (the ``pulumi`` SDK itself is no provider: the plan's rules do not depend on it). Versions compare as PEP 440
    does (:func:`_same_version`): ``==7.51.1.0`` installs the 7.51.1 release pip finds."""
    from mlops_infra.sdk_pins import PROVIDER_SDKS, SDK_PINS

    other = {name: pin for name, pin in pinned_sdk_versions(stack_dir).items()
             if name in PROVIDER_SDKS and not _same_version(pin[0], SDK_PINS[name])}
    if not other:
        return None
    pins = ", ".join(f"{name} {version} ({path}:{line})" for name, (version, path, line) in other.items())
    wanted = ", ".join(f"{name}=={SDK_PINS[name]}" for name in other)
    return (f"`pulumi up` in {Path(stack_dir)} installs {pins}, but this plan's rules follow {wanted} (the versions "
            "this mlops-infra is tested with): that provider may store, default or replace what this plan does not "
            f"predict. Pin {wanted} there, or move to newer providers as docs/pulumi.md \"Provider versions\" says")


def stack_requirements(installed: InstalledFrom | None, stack_dir: Path) -> str:
    """The ``requirements.txt`` of a scaffolded stack directory: this mlops-infra (:func:`requirement_line`) and
    the Pulumi SDKs at the versions its plan rules follow (:func:`mlops_infra.sdk_pins.pin_lines`), so a virtualenv
    Pulumi creates runs the provider versions the plan describes. pip reads a relative ``-e``/path line against the
    directory it runs in (pip 23.2.1 ``src/pip/_internal/req/constructors.py`` ``parse_editable``: ``os.path.isdir``
    of the path as written), which is the stack directory when Pulumi runs it (pulumi/pulumi
    ``sdk/python/toolchain/pip.go`` ``InstallDependencies``: ``pipCmd.Dir = cwd``); by hand: ``cd`` there first."""
    from mlops_infra.sdk_pins import pin_lines

    return ("# What Pulumi installs into the stack's virtualenv when it creates it: this mlops-infra, from where it was\n"
            "# installed, and the Pulumi SDKs at the versions its plan rules follow (mlops_infra/sdk_pins.py). By hand:\n"
            "# cd here, then <venv>/bin/python -m pip install -r requirements.txt. Newer providers: docs/pulumi.md,\n"
            "# \"Provider versions\".\n"
            f"{requirement_line(installed, stack_dir)}\n" + "".join(f"{line}\n" for line in pin_lines()))


def scaffold_files(system_name: str, environments: list[str], system_file: Path, target: Path,
                   venv: Path | None = None, installed: InstalledFrom | None = None) -> dict[str, str]:
    """Every file ``init`` writes, relative to ``target`` (see the module contract)."""
    files: dict[str, str] = {}
    root_rel = _relative(system_file, target)
    runtime = _runtime(venv, target)
    files["Pulumi.yaml"] = _dump_header(
        f"Pulumi project of the {system_name} ML system (mlops-infra init). The stack name is the environment:\n"
        f"`pulumi stack init <env> && pulumi up` here, or use the per-environment directories under stacks/.",
        {"name": system_name, "description": f"The {system_name} ML system, compiled by mlops-infra.",
         "runtime": runtime, "main": "stacks/", "config": {CONFIG_FILE_KEY: root_rel}})
    files["stacks/__main__.py"] = PROGRAM.format(what="the environment named like the stack")
    for env in environments:
        stack_dir = target / "stacks" / env
        files[f"stacks/{env}/Pulumi.yaml"] = _dump_header(
            f"Stack directory of the {env!r} environment of {system_name} (mlops-infra init):\n"
            f"`cd stacks/{env} && pulumi stack init {env} && pulumi up`; `mlops-infra plan` here plans it.",
            {"name": system_name, "description": f"The {system_name} ML system, environment {env}.",
             "runtime": _runtime(venv, stack_dir), "main": "__main__.py"})
        files[f"stacks/{env}/Pulumi.{env}.yaml"] = _dump_header(
            f"Configuration of stack {env!r}: the system file (relative to this directory) and its environment.",
            {"config": {CONFIG_FILE_KEY: _relative(system_file, stack_dir), CONFIG_ENV_KEY: env}})
        files[f"stacks/{env}/__main__.py"] = PROGRAM.format(what=f"environment {env}")
        files[f"stacks/{env}/requirements.txt"] = stack_requirements(installed, stack_dir)
    return files


POLICY_PROGRAM = '''"""CrossGuard policy pack of the {name} ML system (mlops-infra policy-pack): the guardrails of
docs/guardrails.md, levels and caps read from the system file below for the stack's environment.
`pulumi preview --policy-pack {pack}` / `pulumi up --policy-pack {pack}` in a stack directory."""

from pathlib import Path

from mlops_infra.program.policy_pack import serve

serve(Path(__file__).resolve().parent / {system_file!r})
'''


def policy_pack_files(system_name: str, system_file: Path, target: Path, venv: Path | None = None,
                      installed: InstalledFrom | None = None) -> dict[str, str]:
    """Every file of the policy pack directory ``target`` (``mlops-infra policy-pack``), relative to it:
    ``PulumiPolicy.yaml`` (the Python runtime), ``__main__.py`` (serves
    :mod:`mlops_infra.program.policy_pack` for ``system_file``, named relative to the pack so the
    directory can move with the repository) and ``requirements.txt`` (this mlops-infra with the
    ``policy`` extra, from where it was installed: :func:`requirement_line`, and the Pulumi SDKs and pulumi-policy
    at the versions this mlops-infra is tested with, :func:`mlops_infra.sdk_pins.policy_pin_lines`; no constraints file
    and no protobuf pin, for the reason :mod:`mlops_infra.sdk_pins` gives). Pulumi fills the pack's virtualenv from
    that file as it fills a stack's (``pulumi install`` in the pack directory: pulumi/pulumi
    ``pkg/cmd/pulumi/install/install.go`` -> ``policy.InstallPolicyPackDependencies`` -> the Python language host's
    ``InstallDependencies``), so the pins decide the SDK and pulumi-policy the pack runs."""
    from mlops_infra.sdk_pins import policy_pin_lines

    relative = _relative(system_file, target)
    requirement = requirement_line(installed, target).replace("[pulumi]", "[policy]")
    pins = "".join(f"{line}\n" for line in policy_pin_lines())
    return {
        "PulumiPolicy.yaml": _dump_header(
            f"CrossGuard policy pack of the {system_name} ML system (mlops-infra policy-pack): the guardrails\n"
            f"of {relative}, as `mlops-infra plan` evaluates them. Use: pulumi up --policy-pack <this directory>.",
            {"description": f"mlops-infra guardrails of {system_name} (docs/guardrails.md).",
             "runtime": _runtime(venv, target), "version": "0.1.0"}),
        "__main__.py": POLICY_PROGRAM.format(name=system_name, pack=target.as_posix(), system_file=relative),
        "requirements.txt": (
            "# What Pulumi installs into the policy pack's virtualenv: this mlops-infra with the policy extra,\n"
            "# and the Pulumi SDKs and pulumi-policy at the versions it is tested with (mlops_infra/sdk_pins.py).\n"
            "# No protobuf pin: pulumi-policy 1.21 requires protobuf 5.29, which pip picks.\n"
            f"{requirement}\n{pins}"),
    }


def _runtime(venv: Path | None, directory: Path) -> dict[str, Any]:
    options: dict[str, Any] = {"toolchain": "pip"}
    if venv is not None:
        options["virtualenv"] = _relative(venv, directory)
    return {"name": "python", "options": options}


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` with forward slashes (absolute when on another drive)."""
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()
    except ValueError:
        return Path(path).resolve().as_posix()


def _dump_header(comment: str, data: dict[str, Any]) -> str:
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    import yaml  # imported where a Pulumi file is written or read: not at every plan's start-up

    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


# -- recognising a stack directory ------------------------------------------------------------


def _kind(value: Any) -> str:
    return ("a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else
            "true or false" if isinstance(value, bool) else "a number" if isinstance(value, int | float) else
            "empty" if value is None else type(value).__name__)


def _refuse_malformed(config: Any, source: Path) -> None:
    """A ``config:`` that is not a mapping, or an ``mlops:systemFile`` in it that is not a path, is a
    :class:`UserError` naming ``source``: such a directory would otherwise not count as a stack
    directory, and ``plan`` there would plan the embedded quickstart in silence (audit robust, "also
    seen"). Pulumi's stack and project settings hold ``config`` as a mapping of keys to values
    (pulumi/pulumi ``sdk/go/common/workspace/project.go`` ``ProjectStack.Config config.Map``), and a
    ``{secure: ...}`` value is a ciphertext the program would have to decrypt, not a path."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise UserError(f"config in {source.name} is {_kind(config)}, not a mapping of keys to values",
                        f"Write it as Pulumi does, e.g.\n  config:\n    {CONFIG_FILE_KEY}: ../../mlsystem.yaml",
                        source=str(source))
    value = config.get(CONFIG_FILE_KEY)
    if value is not None and not isinstance(value, str):
        secure = isinstance(value, dict) and "secure" in value
        raise UserError(f"{CONFIG_FILE_KEY} in {source.name} is {'a secret' if secure else _kind(value)}, not a path",
                        f"Set it to the system file's path relative to {source.parent}: `pulumi config set "
                        f"{CONFIG_FILE_KEY} ../../mlsystem.yaml` (as `mlops-infra init` writes it).",
                        source=str(source))


def stack_context(directory: Path, env: str | None = None) -> StackContext | None:
    """The system and environment a stack directory deploys, or None (see the module contract).

    With several stack configurations naming a system, ``env`` picks the one whose environment (or
    stack name) it is; without ``env`` that is a :class:`UserError` listing them.
    """
    directory = Path(directory)
    project_file = directory / "Pulumi.yaml"
    if not project_file.is_file():
        return None
    project = read_pulumi_yaml(project_file)
    candidates = []
    for config_file in sorted(directory.glob("Pulumi.*.yaml")):
        stack = config_file.name[len("Pulumi."):-len(".yaml")]
        config = read_pulumi_yaml(config_file).get("config")
        _refuse_malformed(config, config_file)
        if isinstance(config, dict) and isinstance(config.get(CONFIG_FILE_KEY), str):
            env_name = config.get(CONFIG_ENV_KEY) if isinstance(config.get(CONFIG_ENV_KEY), str) else stack
            candidates.append(StackContext(directory, directory / config[CONFIG_FILE_KEY], env_name, stack, config_file))
    if env is not None:
        chosen = [c for c in candidates if env in (c.env, c.stack)]
        if chosen:
            return chosen[0]
        systems = {c.system_file.resolve() for c in candidates}
        if len(systems) == 1:  # another environment of the same system
            only = candidates[0]
            return StackContext(directory, only.system_file, env, None, only.config_file)
    elif len(candidates) == 1:
        return candidates[0]
    elif len(candidates) > 1:
        names = ", ".join(c.stack or "?" for c in candidates)
        raise UserError("several stacks here name a system file",
                        f"Stacks {names} in {directory}: choose one with --env.", source=str(directory))
    project_config = project.get("config")
    value = project_config.get(CONFIG_FILE_KEY) if isinstance(project_config, dict) else None
    if isinstance(value, dict):  # the long form: {value: ...} or {default: ...}; {type: ...} alone declares it
        value = value.get("value", value.get("default"))
    _refuse_malformed({CONFIG_FILE_KEY: value} if isinstance(project_config, dict) else project_config, project_file)
    if isinstance(value, str):
        return StackContext(directory, directory / value, env, None, project_file)
    return None


def read_pulumi_yaml(path: Path) -> dict[str, Any]:
    """A Pulumi project or stack settings file as a mapping (empty when it holds none); an unreadable
    file or broken YAML is a :class:`UserError` naming the file."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError("cannot read the Pulumi file", f"{err}".splitlines()[0][:300] + ". Fix the file's YAML.",
                        source=str(path)) from None
    return data if isinstance(data, dict) else {}
