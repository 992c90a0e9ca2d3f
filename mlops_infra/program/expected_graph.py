"""The graph ``mlops-infra apply`` showed: ``pulumi up`` registers that graph or nothing (audit concurrency-7).

Why: ``apply`` compiles FILE, shows the plan and waits (the prompt, ``--drain-queues``' bounded wait, phase 1
of an ordered apply); then ``pulumi up`` runs the stack program in another process, which loads and compiles
FILE again (:mod:`mlops_infra.program.entry`). An edit meanwhile (an editor's save, ``promote --write`` into
this environment, a ``git pull`` in the same checkout) would be applied unseen: the Automation API runs
``pulumi up --yes --skip-preview`` (``pulumi/automation/_stack.py`` ``up``), so the engine applies whatever
the program registers without a preview. The registry view is pinned for the same reason
(:mod:`mlops_infra.apply.model_versions`); this pins the file's content, through the graph it compiles to.

Contract:
- :data:`EXPECTED_GRAPH_ENV` holds the digest (:meth:`mlops_infra.graph.Graph.digest`) of the desired graph
  apply compiled and showed (with ``--plan``, the saved plan's, which ``planfile.check_fresh`` found equal).
  :func:`expected_graph_env` makes the environment apply passes to every ``pulumi up`` (the Automation API's
  workspace environment, beside ``$MLOPS_INFRA_REGISTRY_VIEW``, not stack config: ``config set-all`` would
  write it into the committed ``Pulumi.<env>.yaml``).
- :func:`refuse_another_graph` is called by the program with the graph it compiled, before it registers
  anything, and before the per-run overlays: phase 1's ``$MLOPS_INFRA_PHASE_OMIT`` (``Graph.without``) is
  applied after it, and ``$MLOPS_INFRA_DELETE_FIRST`` changes only resource options at registration, not the
  graph (:mod:`mlops_infra.program.delete_first`). Another digest raises ``pulumi.RunError`` ("a clean exit
  rather than the usual verbose unhandled error logic", ``pulumi/errors.py`` ``RunError``: the language host
  logs it as one error diagnostic, no traceback, pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``
  ``except pulumi.RunError as e: pulumi.log.error(str(e))``), whose message says the system changed since the plan was shown,
  nothing was applied and to plan again; with no resource registered, ``up`` changes nothing. Unset (a
  bare ``pulumi up``/``preview`` in the stack directory): no check.

- The stack configuration is pinned the same way (audit closing-37b-3): the program copies the provider settings
  of :data:`mlops_infra.program.providers.OVERRIDE_KEYS` (``kubernetes:context``, ``kubernetes:kubeconfig``,
  ``aws:endpoints``, ...) from stack config into every explicit provider, outside the graph, so an edit or a
  ``git pull`` of ``Pulumi.<env>.yaml`` during the prompt would point the apply at another cluster or endpoint.
  :data:`EXPECTED_STACK_CONFIG_ENV` (a second variable, so each refusal names what changed) holds
  :func:`stack_config_digest` of the settings apply read when it compiled the plan it shows; the program
  computes it with the same function and :func:`refuse_another_stack_config` refuses as above, its message
  starting with :data:`CONFIG_CHANGED` and naming the file and the keys it sets (never a value).
  What is digested (:func:`stack_config_values`): for each package with a provider in the graph, each override
  key the configuration files set: the stack settings file ``Pulumi.<stack>.yaml`` (next to ``Pulumi.yaml``, or
  in its ``stackConfigDir``: pulumi/pulumi ``sdk/go/common/workspace/paths.go`` ``DetectProjectStackPath``) over
  the project's ``config:`` (plain, ``{value:}`` or ``{default:}``). A plain value is digested as the program
  registers it (:func:`mlops_infra.program.providers.parse_value` of its text: the engine passes each value as
  text, an object as JSON, ``pkg/resource/deploy/source_eval.go`` ``Config.Decrypt``, ``PULUMI_CONFIG`` in
  ``sdk/python/cmd/pulumi-language-python/main.go`` ``constructConfig``); apply takes that text from the file,
  the program from ``pulumi.Config`` (:func:`mlops_infra.program.providers.configured_text`), what it registers
  with. A ``secure:`` value (or an object holding one: ``sdk/go/common/resource/config/value.go``
  ``UnmarshalYAML``/``Secure``) is digested as its ciphertext in the file, on both sides: apply never
  decrypts it (the engine hands the program only the plaintext, ``source_eval.go`` ``Iterate``), and neither
  value nor ciphertext is ever printed. A key only a Pulumi ESC ``environment:`` supplies is in no file: it is
  not pinned (the ``environment:`` list itself is). The program reads the file from its working directory,
  the project directory (``pulumi-language-python-exec`` ``os.chdir(args.pwd)``), for the stack it runs
  (``pulumi.get_stack()``, the environment apply selects; ``/`` written ``-`` as ``paths.go`` ``qnameFileName``
  does). What remains: a ``secure:`` value is re-read by the program just after the engine read and decrypted
  it, so an edit within that moment is not seen (plain values are compared as registered).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlops_infra.stack_settings import is_secure, project_settings, read_settings, setting, stack_config_file

EXPECTED_GRAPH_ENV = "MLOPS_INFRA_EXPECTED_GRAPH"
EXPECTED_STACK_CONFIG_ENV = "MLOPS_INFRA_EXPECTED_STACK_CONFIG"

CHANGED = "the system changed since the plan was shown"
"""The start of the refusal's message (``apply`` shows Pulumi's ``error:`` line that carries it)."""


CONFIG_CHANGED = "the stack configuration changed since the plan was shown"
"""The start of the stack-config refusal's message (closing-37b-3)."""


def expected_graph_env(digest: str, stack_config: str | None = None) -> dict[str, str]:
    """The environment that makes the program refuse any graph but the one of ``digest`` and, with
    ``stack_config`` (:func:`stack_config_digest`), any other provider settings from stack config."""
    return {EXPECTED_GRAPH_ENV: digest, **({EXPECTED_STACK_CONFIG_ENV: stack_config} if stack_config else {})}


def refuse_another_graph(graph, source: str, environ: Mapping[str, str] = os.environ) -> None:
    """Raise ``pulumi.RunError`` when :data:`EXPECTED_GRAPH_ENV` is set and ``graph`` is not that graph
    (see the module contract); ``source`` names the system file in the message."""
    expected = environ.get(EXPECTED_GRAPH_ENV, "").strip()
    if not expected or graph.digest() == expected:
        return
    import pulumi

    raise pulumi.RunError(
        f"{CHANGED} ({source} now compiles to graph {graph.digest()[:12]}, the plan shown was of "
        f"{expected[:12]}): nothing was applied. The file (or what it includes) was edited after "
        "`mlops-infra apply` showed its plan; run `mlops-infra plan` to see the change, then apply again.")


def stack_config_values(directory: Path, stack: str, graph,
                        registered: Callable[[str, str], str | None] | None = None) -> dict[str, Any]:
    """``package:key`` -> what is digested for each provider override the configuration files set (see the
    contract): ``{"secure": ciphertext ...}`` as in the file, else the value parsed from ``registered(package,
    key)`` (the program's read) or, without it, from the file's value (apply's read)."""
    from mlops_infra.program.providers import OVERRIDE_KEYS, parse_value
    from mlops_infra.program.types import package_of

    packages = sorted({package_of(r.type) for r in graph.resources if r.type.startswith("pulumi:providers:")})
    stack_file = stack_config_file(directory, stack)
    files = [read_settings(stack_file), project_settings(directory)]
    values: dict[str, Any] = {}
    for package in packages:
        for key in OVERRIDE_KEYS.get(package, ()):
            found = [v for v in (setting(files[0], f"{package}:{key}"),
                                 setting(files[1], f"{package}:{key}", project=True)) if v is not None]
            if not found:
                continue
            if is_secure(found[0]) or registered is None:
                raw = found[0]
                values[f"{package}:{key}"] = raw if is_secure(raw) else parse_value(_text(raw))
            else:
                text = registered(package, key)
                values[f"{package}:{key}"] = None if text is None else parse_value(text)
    environment = files[0].get("environment")
    if environment is not None:  # Pulumi ESC: its values are not read here, the list imported is
        values["environment"] = environment
    return values


def stack_config_digest(directory: Path, stack: str, graph,
                        registered: Callable[[str, str], str | None] | None = None) -> str:
    """SHA-256 of :func:`stack_config_values`' canonical JSON (apply's and the program's pin: one function)."""
    return _digest(stack_config_values(directory, stack, graph, registered))


def _digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
                          .encode("utf-8")).hexdigest()


def refuse_another_stack_config(graph, directory: Path | None = None, stack: str | None = None,
                                environ: Mapping[str, str] = os.environ) -> None:
    """Raise ``pulumi.RunError`` when :data:`EXPECTED_STACK_CONFIG_ENV` is set and the provider settings the
    program registers ``graph`` with are not those apply read (see the module contract)."""
    expected = environ.get(EXPECTED_STACK_CONFIG_ENV, "").strip()
    if not expected:
        return
    import pulumi

    from mlops_infra.errors import UserError
    from mlops_infra.program.providers import configured_text

    directory, stack = directory or Path.cwd(), stack or pulumi.get_stack()
    path = stack_config_file(directory, stack)
    try:
        now = stack_config_values(directory, stack, graph, configured_text)
    except UserError as exc:
        raise pulumi.RunError(f"{CONFIG_CHANGED} ({path}: {exc.summary}): nothing was applied. Fix the file, run "
                              "`mlops-infra plan`, then apply again.") from None
    if _digest(now) == expected:
        return
    keys = ", ".join(k for k in sorted(now) if k != "environment") or "none"
    raise pulumi.RunError(
        f"{CONFIG_CHANGED} ({path} was edited after `mlops-infra apply` read it; the provider settings it sets now: "
        f"{keys}): nothing was applied. Check the file (a "
        "`kubernetes:context`, `kubernetes:kubeconfig` or `aws:endpoints` there points the apply at another cluster "
        "or endpoint), run `mlops-infra plan`, then apply again.")


def _text(value: Any) -> str:
    """A plain config value as the engine hands it to the program: a string as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
