"""What a stack's Pulumi settings files set: ``Pulumi.<stack>.yaml`` over the project's ``config:``.

One reader for the two places that must see what ``pulumi up`` will see: apply's pin of the provider settings
(:mod:`mlops_infra.program.expected_graph`) and the cluster plan and apply read
(:mod:`mlops_infra.kube.effective_context`).

Contract:
- :func:`stack_config_file`: the stack settings file Pulumi reads for ``stack`` of the project in ``directory``:
  ``Pulumi.<stack>.yaml`` beside ``Pulumi.yaml``, or in its ``stackConfigDir`` (pulumi/pulumi
  ``sdk/go/common/workspace/paths.go`` ``DetectProjectStackPath``; a fully qualified ``org/project/stack`` has its
  ``/`` replaced by ``-``, ``qnameFileName``).
- :func:`read_settings`: a file's mapping, empty when there is no file; a broken one raises the
  :class:`~mlops_infra.errors.UserError` of :func:`mlops_infra.stacks.read_pulumi_yaml` naming it.
- :func:`setting`: ``key``'s value in a file's ``config:``; in the project file a ``{value:}`` / ``{default:}``
  wrapper is unwrapped (Pulumi's project-level config), a ``{secure: ...}`` value is kept as it is.
- :func:`configured`: ``key`` in the stack file, else in the project file, with the file that set it.
- :func:`is_secure`: whether a value is, or holds, a ``secure:`` (encrypted) value, which only the Pulumi CLI
  can decrypt.
Reading never writes and never decrypts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def read_settings(path: Path) -> dict[str, Any]:
    """The file's mapping, empty when there is no file (a broken one: the ``UserError`` naming it)."""
    from mlops_infra.stacks import read_pulumi_yaml

    return read_pulumi_yaml(path) if path.is_file() else {}


def project_settings(directory: Path) -> dict[str, Any]:
    """The project file ``Pulumi.yaml`` of ``directory`` (empty when there is none)."""
    return read_settings(directory / "Pulumi.yaml")


def stack_config_file(directory: Path, stack: str) -> Path:
    """The stack settings file Pulumi reads for ``stack`` of the project in ``directory`` (module contract)."""
    config_dir = project_settings(directory).get("stackConfigDir")
    base = directory / config_dir if isinstance(config_dir, str) and config_dir else directory
    return base / f"Pulumi.{stack.replace('/', '-')}.yaml"


def setting(data: Mapping[str, Any], key: str, project: bool = False) -> Any:
    """``key``'s value in a file's ``config:``; in the ``project`` file, ``{value:}``/``{default:}`` unwrapped."""
    config = data.get("config")
    value = config.get(key) if isinstance(config, Mapping) else None
    if project and isinstance(value, Mapping) and ("value" in value or "default" in value):
        return value.get("value", value.get("default"))
    return value


def configured(directory: Path, stack: str, key: str) -> tuple[Any, Path] | None:
    """``key`` as ``pulumi up`` of ``stack`` in ``directory`` sees it: the stack file's value, else the project's,
    with the file that set it; None when neither sets it."""
    stack_file = stack_config_file(directory, stack)
    for data, path, project in ((read_settings(stack_file), stack_file, False),
                                (project_settings(directory), directory / "Pulumi.yaml", True)):
        value = setting(data, key, project)
        if value is not None:
            return value, path
    return None


def is_secure(value: Any) -> bool:
    """Whether a config value is, or holds, a ``secure:`` (encrypted) value."""
    if isinstance(value, Mapping):
        return (set(value) == {"secure"} and isinstance(value["secure"], str)) or any(map(is_secure, value.values()))
    return isinstance(value, list) and any(map(is_secure, value))
