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
"""

from __future__ import annotations

import os
from collections.abc import Mapping

EXPECTED_GRAPH_ENV = "MLOPS_INFRA_EXPECTED_GRAPH"

CHANGED = "the system changed since the plan was shown"
"""The start of the refusal's message (``apply`` shows Pulumi's ``error:`` line that carries it)."""


def expected_graph_env(digest: str) -> dict[str, str]:
    """The environment that makes the program refuse any graph but the one of ``digest``."""
    return {EXPECTED_GRAPH_ENV: digest}


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
