"""What a command's process imports at start-up: only what the command uses.

A module that only some documents need is imported where it is used: the SageMaker SDK's image
table (:mod:`mlops_infra.ml.images`) when a spec names a framework image, the checkpoint reader (:mod:`mlops_infra.ml.checkpoints`: ``pickle``, ``zipfile``)
when a model's artifact is a local file, ``croniter`` (with ``dateutil`` and ``six``) when a plan
prices a scheduled training job. The probe runs the command in a fresh interpreter and reports which
of those modules it holds.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from mlops_infra.spec.base import SpecModel
from mlops_infra.spec.system import MLSystem  # defines every model a document is validated with

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FRAUD = EXAMPLES / "fraud-detection" / "mlsystem.yaml"
LLM = EXAMPLES / "llm-platform" / "mlsystem.yaml"
QUICKSTART = EXAMPLES / "quickstart" / "mlsystem.yaml"
ON_USE = ("mlops_infra.ml.images", "mlops_infra.ml.checkpoints", "croniter")
"""Modules imported only when the document needs them."""


def _loaded(*args: str, modules: tuple[str, ...] = ON_USE,
            env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    probe = ("import sys\nfrom mlops_infra.cli.main import main\ncode = 0\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit as exc:\n    code = exc.code\n"
             f"print('LOADED', sorted(m for m in sys.modules if m in {modules!r}), file=sys.stderr)\nsys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    return proc, ast.literal_eval(proc.stderr.rsplit("LOADED ", 1)[-1].strip())  # the module names the probe printed


@pytest.mark.parametrize("command", [["validate"], ["graph", "--format", "json"], ["plan", "--format", "json"]])
def test_a_spec_without_framework_images_or_local_checkpoints_imports_neither_reader(command):
    """The fraud-detection example names no framework image and no local artifact (its prod plan
    prices a scheduled training job: croniter)."""
    proc, loaded = _loaded(command[0], str(FRAUD), "--env", "prod", *command[1:])

    assert proc.returncode == 0, proc.stderr
    assert loaded == (["croniter"] if command[0] == "plan" else []), loaded


def test_a_plan_without_scheduled_training_jobs_does_not_import_croniter():
    """The quickstart has no training job."""
    proc, loaded = _loaded("plan", str(QUICKSTART), "--env", "prod", "--format", "json")

    assert proc.returncode == 0, proc.stderr
    assert loaded == [], loaded


RENDERERS = ("mlops_infra.render.human", "mlops_infra.render.markdown", "mlops_infra.render.json", "mlops_infra.kube")
"""The plan's renderers, and the Kubernetes client layer (an AWS plan has no cluster to ask)."""


@pytest.mark.parametrize(("output_format", "renderer"), [("json", "mlops_infra.render.json"),
                                                         ("markdown", "mlops_infra.render.markdown"),
                                                         ("text", "mlops_infra.render.human")])
def test_a_plan_imports_the_renderer_of_its_format_and_no_kube_client_for_aws(output_format, renderer):
    """fraud-detection's prod is an AWS environment: its plan imports its format's renderer only (the Markdown
    renderer uses the text one's words, and the text renderer nothing else), and no Kubernetes client."""
    proc, loaded = _loaded("plan", str(FRAUD), "--env", "prod", "--format", output_format, modules=RENDERERS)

    assert proc.returncode == 0, proc.stderr
    assert loaded == (["mlops_infra.render.human", renderer] if output_format == "markdown" else [renderer]), loaded


def _plugins_looked_up(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, bool]:
    """Run the command in a fresh interpreter: did pydantic look its plugins up (its cache of them filled)?"""
    probe = ("import sys\nfrom mlops_infra.cli.main import main\ncode = 0\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit as exc:\n    code = exc.code\nfrom pydantic.plugin import _loader\n"
             "print('LOOKED', _loader._plugins is not None, file=sys.stderr)\nsys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    return proc, proc.stderr.rsplit("LOOKED ", 1)[-1].strip() == "True"


PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
"""pydantic's switch for its plugins (pydantic docs, "Plugins")."""


def test_a_batch_command_looks_up_no_pydantic_plugin(monkeypatch):
    """validate, graph and plan run with pydantic's plugins off: pydantic never reads every installed
    distribution's entry points to find them (its cache of plugins stays unfilled); a switch the user set is
    kept (then pydantic looks them up, as the control shows), and an in-process run leaves the environment as
    it was."""
    import os

    from mlops_infra.cli.main import main

    clean = {k: v for k, v in os.environ.items() if k != PYDANTIC_PLUGINS}
    for command in (["validate"], ["graph", "--format", "json"], ["plan", "--format", "json"]):
        proc, looked = _plugins_looked_up(command[0], str(FRAUD), "--env", "prod", *command[1:], env=clean)
        assert proc.returncode == 0 and not looked, (command, proc.stderr)
    proc, looked = _plugins_looked_up("validate", str(FRAUD), "--env", "prod",
                                      env={**clean, PYDANTIC_PLUGINS: "some-plugin"})
    assert proc.returncode == 0 and looked, proc.stderr

    monkeypatch.delenv(PYDANTIC_PLUGINS, raising=False)
    with pytest.raises(SystemExit) as stop:
        main(["validate", str(FRAUD), "--env", "prod"])
    assert stop.value.code == 0 and PYDANTIC_PLUGINS not in os.environ
    monkeypatch.setenv(PYDANTIC_PLUGINS, "some-plugin")
    with pytest.raises(SystemExit):
        main(["validate", str(FRAUD), "--env", "prod"])
    assert os.environ[PYDANTIC_PLUGINS] == "some-plugin"


def test_a_spec_with_a_framework_image_imports_the_image_table():
    """The control: the probe sees a reader the document needs (llm-platform serves a framework image)."""
    proc, loaded = _loaded("validate", str(LLM))

    assert proc.returncode == 0, proc.stderr
    assert loaded == ["mlops_infra.ml.images"], loaded


def test_a_spec_with_a_local_artifact_imports_the_checkpoint_reader(tmp_path):
    """The control for the checkpoint reader: the quickstart with its model's artifact a local file
    (missing here: the reader says so, and the document is not valid)."""
    text = QUICKSTART.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("artifacts_uri:"))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text.replace(line, "    artifact: ./model.safetensors"))
    proc, loaded = _loaded("validate", str(spec))

    assert proc.returncode == 1 and "model.safetensors: no such file" in proc.stderr, proc.stderr
    assert loaded == ["mlops_infra.ml.checkpoints"], loaded


def _spec_models() -> list[type[BaseModel]]:
    found, todo = [], [SpecModel]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_no_spec_field_defaults_to_a_builtin_type_factory():
    """A list or dict field's ``default_factory`` is :func:`mlops_infra.spec.base.empty_list` or
    ``empty_dict``, not ``list`` or ``dict``: pydantic reads each factory's signature when it builds
    the models, and a builtin's is parsed from text with ``tokenize`` (see ``empty_list``)."""
    builtins = [(cls.__name__, name) for cls in _spec_models() for name, field in cls.model_fields.items()
                if field.default_factory is not None and isinstance(field.default_factory, type)
                and not issubclass(field.default_factory, BaseModel)]

    assert MLSystem in _spec_models() and len(_spec_models()) > 20
    assert builtins == []


COLD_PATTERNS = {
    "mlops_infra.secrets.rules": ("CREDENTIAL_NAME",),
    "mlops_infra.spec.labels": ("_VALUE_RE", "_NAME_RE", "_PREFIX_RE"),
    "mlops_infra.spec.loader": ("_TAG_CANDIDATE", "_RS_POSITION", "_SURROGATE_ESCAPE", "_PLAIN_WORD"),
    "mlops_infra.spec.image_refs": ("_DIGEST_AT_END",),
    "mlops_infra.spec.base": ("_SECRET_KEY",),
    "mlops_infra.cli.usage": ("_VALUE_ERROR_PREFIX", "_NOT_ONE_OF"),
    "mlops_infra.ml.size": ("_COUNT_RE",),
}
"""Patterns a clean validate, graph or plan of the bench spec never matches (error paths, labels, credential
names, parameter counts): kept as sources and compiled through re's cache when first used."""


def test_patterns_of_paths_a_clean_run_skips_are_compiled_when_first_used():
    import importlib
    import re

    for module, names in COLD_PATTERNS.items():
        loaded = importlib.import_module(module)
        for name in names:
            source = getattr(loaded, name)
            assert isinstance(source, str), f"{module}.{name} is compiled at import"
            re.compile(source)  # a valid pattern
