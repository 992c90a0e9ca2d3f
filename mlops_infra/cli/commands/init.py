"""``mlops-infra init [FILE] [--dir DIR] [--force]``: Pulumi project and stack directories for your system.

Contract:
- ``FILE`` defaults to ``./mlsystem.yaml``; when there is none, the embedded quickstart is written
  there first (a starting point to edit), with the JSON Schema its first line names beside it
  (:func:`write_quickstart`). The system must be valid in every environment (the diagnostics are
  printed and nothing is written otherwise).
- Writes, under ``DIR`` (default: ``FILE``'s directory), the files of
  :func:`mlops_infra.stacks.scaffold_files`: ``Pulumi.yaml`` (project = the system's name) and one
  ``stacks/<env>/`` per environment whose ``Pulumi.<env>.yaml`` points at ``FILE``. A file that
  exists already is never overwritten without ``--force``: the command then lists them, writes
  nothing and exits 1. Each file is written atomically (:mod:`mlops_infra.fileio`).
- Prints what it wrote and the next steps (``mlops-infra plan`` and ``pulumi up`` in a stack directory).
- The projects it writes run in the virtualenv ``init`` runs from (``runtime.options.virtualenv``).
  Pulumi installs a project's ``requirements.txt`` only into a virtualenv it creates: an existing one
  is used as it is (pulumi/pulumi ``sdk/python/toolchain/pip.go``, ``(*pip).EnsureVenv``: ``if
  IsVirtualEnv(p.virtualenvPath) { return nil }``). So when that interpreter lacks a module of the
  ``[pulumi]`` extra (:data:`PULUMI_MODULES`), ``init`` says which, and the one command that installs
  them (the stack's ``requirements.txt``) before ``pulumi up``; it still writes the files, exit 0. When the
  virtualenv (or, without one, the Python Pulumi runs, asked by :func:`missing_in`) has them at other versions than
  the stacks pin (:data:`mlops_infra.sdk_pins.SDK_PINS`, the versions the plan's rules follow), it says which and
  the same command (audit pin44-1).
- That command runs in the stack directory (``cd <stack> && <python> -m pip install -r requirements.txt``): pip
  resolves a ``-c``/``-r`` path against the requirements file (pip 23.2.1 ``src/pip/_internal/req/req_file.py``
  337-364, ``_parse_and_recurse``) but an ``-e``/directory line such as ``-e ../..[pulumi]`` against the directory
  it runs in (``src/pip/_internal/req/constructors.py`` 60-77, ``parse_editable``: ``os.path.isdir`` of the path
  as written), as Pulumi runs it (pulumi/pulumi ``sdk/python/toolchain/pip.go`` ``InstallDependencies``:
  ``pipCmd.Dir = cwd``). Given from anywhere else, ``-r <stack>/requirements.txt`` fails ("does not appear to be a
  Python project") or installs another directory (audit pin44-2).
"""

from __future__ import annotations

import sys
from pathlib import Path
from shlex import quote
from typing import TYPE_CHECKING

import typer

from mlops_infra.cli.output import error_console, print_diagnostics
from mlops_infra.cli.usage import exit_codes

if TYPE_CHECKING:
    from mlops_infra.stacks import InstalledFrom

EXIT_CODES = exit_codes("the files were written", "the system is not valid, or files exist already (use --force)")


def register(app: typer.Typer) -> None:
    """Add the ``init`` command to ``app``."""
    app.command("init", epilog=EXIT_CODES)(init)


def init(
    file: Path | None = typer.Argument(
        None, help="The MLSystem YAML file (default: ./mlsystem.yaml, written from the quickstart if missing).",
        show_default=False),
    directory: Path | None = typer.Option(
        None, "--dir", "-d", help="Where to write Pulumi.yaml and stacks/ (default: FILE's directory)."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist already."),
) -> None:
    """Scaffold Pulumi.yaml and one stacks/<env>/ per environment of your system."""
    from mlops_infra.fileio import write_new_files
    from mlops_infra.spec import load_system
    from mlops_infra.stacks import scaffold_files

    err = error_console()
    notes = []
    if file is None:
        file = Path("mlsystem.yaml")
        if not file.exists():
            notes += write_quickstart(file)
    loaded = load_system(file)
    print_diagnostics(loaded.diagnostics, err, loaded.source_line)
    if not loaded.ok or loaded.system is None:
        raise typer.Exit(1)
    system = loaded.system
    target = directory if directory is not None else file.parent
    venv = Path(sys.prefix) if sys.prefix != sys.base_prefix else None
    files = scaffold_files(system.metadata.name, list(system.environments), file, target, venv, installed_from())
    write_new_files(target, files, force=force)
    for note in notes:
        typer.echo(note)
    typer.echo(f"Pulumi project {system.metadata.name!r} for {file}: wrote {len(files)} files under {target}")
    for name in files:
        typer.echo(f"  {target / name}")
    first = next(iter(system.environments), None)
    if first is not None:
        where = target / "stacks" / first
        python, other = Path(sys.executable), None
        if venv is not None:
            missing, runs = missing_pulumi_modules(), f"the virtualenv the stacks run in ({venv})"
            other = sdk_versions_differing()
        else:  # closing-37b-4: no virtualenv option: Pulumi runs the python3 on PATH, not this one
            python, missing = ambient_python(), None
            if python is not None:
                missing, other = missing_in(python)
            runs = f"the Python `pulumi up` runs ({python}, found as Pulumi finds it: PULUMI_PYTHON_CMD, else " \
                   "python3, else python on PATH)"
            if python is None or missing is None:
                err.print("warning: mlops-infra cannot tell which Python `pulumi up` will run (no PULUMI_PYTHON_CMD, "
                          "python3 or python on PATH that answers): make sure it can import "
                          f"{', '.join(PULUMI_MODULES)} and mlops_infra; Pulumi installs nothing into it.",
                          highlight=False, markup=False, soft_wrap=True)
                python, missing = Path(sys.executable), []
        install = f"cd {quote(str(where))} && {quote(str(python))} -m pip install -r requirements.txt"  # the contract
        if missing:
            err.print(f"warning: {runs} has no {', '.join(missing)} (the Pulumi SDK, the `[pulumi]` extra): "
                      "Pulumi installs requirements.txt only into a virtualenv it creates, never into an existing "
                      "one or a Python outside one, so `pulumi up` would fail with \"No module named "
                      f"'{missing[0]}'\". Install it first: {install}", highlight=False, markup=False,
                      soft_wrap=True)
        elif other:
            err.print(f"warning: {runs} has {_versions(other)}, not what the stacks pin and the plan's rules are "
                      "tested with (mlops_infra/sdk_pins.py): `pulumi up` loads the provider version of the SDK "
                      "installed, and the plan may mispredict what another version stores. Pulumi installs "
                      f"requirements.txt only into a virtualenv it creates, so install the pins: {install}",
                      highlight=False, markup=False, soft_wrap=True)
        typer.echo(f"Next: cd {where} && mlops-infra plan    (then `pulumi stack init {first} && pulumi up`)")


MODELINE = "# yaml-language-server: $schema="
"""The first line that points the YAML language server at a schema (yaml-language-server README.md,
"Using a modeline": "Relative paths in modelines are resolved from the YAML file's location, not the
workspace root")."""


def write_quickstart(file: Path) -> list[str]:
    """Write the embedded quickstart to ``file`` and the schema its modeline names, returning the notes to print.

    The quickstart's own modeline (``../../schemas/...``) is right only in this repository's
    ``examples/quickstart/``, and the wheel ships no schema (audit schemas-1: the editor then reports
    "Unable to load schema ... No content" and gives no completion or checks). So the schema is written
    to ``schemas/`` beside ``file`` (:func:`mlops_infra.spec.schema.render_schema`, the text
    ``mlops-infra schema --check`` holds the committed copy to) and the modeline names it; a schema file
    there already is left as it is. The header's ``validate`` command names ``file``.
    """
    from mlops_infra.fileio import write_text_atomic
    from mlops_infra.spec import embedded_quickstart_path
    from mlops_infra.spec.schema import SCHEMA_FILE, render_schema

    from .schema import write_schema_file

    relative = f"schemas/{SCHEMA_FILE}"
    first, rest = embedded_quickstart_path().read_text(encoding="utf-8").split("\n", 1)
    if first.startswith(MODELINE):
        first = MODELINE + relative
    rest = rest.replace("mlops-infra validate examples/quickstart/mlsystem.yaml", f"mlops-infra validate {file}", 1)
    notes = []
    schema = file.parent / relative
    if schema.exists():
        notes.append(f"left {schema} as it is (the schema the first line of {file} names; "
                     f"`mlops-infra schema --out {schema}` rewrites it)")
    else:  # `schema --out`'s checked write: a `schemas` that is not a directory is a UserError, not a traceback
        write_schema_file(str(schema), render_schema())
        notes.append(f"wrote {schema} (the JSON Schema the first line of {file} names: editor completion and checks)")
    write_text_atomic(file, f"{first}\n{rest}")
    notes.insert(0, f"wrote {file} (the quickstart system: edit it to describe yours)")
    return notes


PULUMI_MODULES = ("pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_docker_build")
"""What the program run by ``pulumi up`` imports: the modules of the ``[pulumi]`` extra (pyproject.toml)."""


def missing_pulumi_modules() -> list[str]:
    """The modules of :data:`PULUMI_MODULES` this interpreter cannot import (found without importing them)."""
    from importlib.util import find_spec

    return [name for name in PULUMI_MODULES if find_spec(name) is None]


def sdk_versions_differing(found: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """The distributions of :data:`mlops_infra.sdk_pins.SDK_PINS` at another version than the pin (None: not
    installed) in ``found`` (name -> version), else in this interpreter, read from their metadata without importing
    them (audit pin44-1)."""
    from importlib.metadata import PackageNotFoundError, version

    from mlops_infra.sdk_pins import SDK_PINS, differing

    if found is None:
        found = {}
        for name in SDK_PINS:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                found[name] = None
    return differing(found)


def _versions(other: dict[str, str | None]) -> str:
    from mlops_infra.sdk_pins import SDK_PINS

    return ", ".join(f"{name} {found or 'missing'} (pinned {SDK_PINS[name]})" for name, found in other.items())


def ambient_python() -> Path | None:
    """The interpreter Pulumi runs a project with no ``virtualenv`` option with (audit closing-37b-4):
    pulumi/pulumi ``sdk/python/toolchain/pip.go`` ``(*pip).Command`` -> ``CommandPath``: ``PULUMI_PYTHON_CMD``,
    else ``python3``, else ``python``, the first found on PATH (``exec.LookPath``); ``EnsureVenv`` installs
    nothing without a virtualenv option. None when none is found."""
    import os
    import shutil

    names = [os.environ["PULUMI_PYTHON_CMD"]] if os.environ.get("PULUMI_PYTHON_CMD") else ["python3", "python"]
    found = next((path for path in map(shutil.which, names) if path), None)
    return Path(found) if found else None


def missing_in(python: Path) -> tuple[list[str] | None, dict[str, str | None]]:
    """The modules of :data:`PULUMI_MODULES` and ``mlops_infra`` that ``python`` cannot import (found without
    importing them), None when it does not answer within 20 s; and the SDKs it has at other versions than the
    pins (:func:`sdk_versions_differing`; empty when it does not say: a second output line ``name=version``...)."""
    import subprocess

    from mlops_infra.sdk_pins import SDK_PINS

    probe = ("import importlib.metadata as m, importlib.util, sys\n"
             "modules, _, dists = ' '.join(sys.argv[1:]).partition(' / ')\n"
             "print(' '.join(n for n in modules.split() if importlib.util.find_spec(n) is None))\n"
             "def v(n):\n try: return m.version(n)\n except m.PackageNotFoundError: return ''\n"
             "print(' '.join(f'{n}={v(n)}' for n in dists.split()))")
    try:
        done = subprocess.run([str(python), "-c", probe, *PULUMI_MODULES, "mlops_infra", "/", *SDK_PINS],
                              capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None, {}
    if done.returncode != 0:
        return None, {}
    lines = done.stdout.splitlines()
    pairs = [item.partition("=") for item in (lines[1].split() if len(lines) > 1 else [])]
    found = {name: found or None for name, _, found in pairs if name in SDK_PINS}
    return (lines[0].split() if lines else []), (sdk_versions_differing(found) if len(found) == len(SDK_PINS) else {})


def installed_from() -> InstalledFrom | None:
    """Where this mlops-infra was installed from: its distribution's ``direct_url.json`` (PEP 610,
    https://packaging.python.org/en/latest/specifications/direct-url-data-structure/), else its version."""
    import json
    from importlib.metadata import distributions
    from urllib.parse import unquote, urlparse

    from mlops_infra.stacks import InstalledFrom

    # a source tree's *.egg-info (when the current directory is the checkout) has no direct_url.json:
    # the installed distribution that has one says more
    found = [(dist, dist.read_text("direct_url.json")) for dist in distributions(name="mlops-infra")]
    if not found:
        return None
    dist, text = next(((d, t) for d, t in found if t), found[0])
    try:
        info = json.loads(text or "null")
    except ValueError:
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return InstalledFrom(version=dist.version)
    url = info["url"]
    if "dir_info" in info and url.startswith("file://"):
        return InstalledFrom(version=dist.version, directory=Path(unquote(urlparse(url).path)),
                             editable=bool((info.get("dir_info") or {}).get("editable")))
    vcs = info.get("vcs_info") or {}
    return InstalledFrom(version=dist.version, url=url, vcs=vcs.get("vcs"), commit=vcs.get("commit_id"))

