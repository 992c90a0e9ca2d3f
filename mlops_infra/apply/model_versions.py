"""Model versions at apply time (finding A1): read the registry, and hand the view to the program.

Contract:
- :func:`check_registry` reads the environment's registry (AWS: :func:`read_registry`, with the
  endpoints' served versions from the prior state) and compiles the desired graph with it. When the
  resources differ from the graph the user reviewed (a version was registered, approved or rejected
  since), it raises a :class:`UserError` naming the endpoints and saying to plan again: apply never
  applies a graph nobody saw. A registry that cannot be read leaves the reviewed graph as it is, with
  the reasons as warnings.
- :func:`registry_view_env` writes the view to a private temporary file and yields the environment
  (``MLOPS_INFRA_REGISTRY_VIEW``) that makes the Pulumi program compile with it
  (:func:`mlops_infra.program.entry.registry_view`), so ``pulumi up`` registers exactly that graph.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from mlops_infra.errors import UserError
from mlops_infra.model_versions import REGISTRY_VIEW_ENV, RegistryView


def check_registry(system: Any, env: str, prior: Any, graph: Any, *,
                   endpoint_url: str | None = None) -> tuple[RegistryView | None, list[str]]:
    """(the view read now, warnings); raises when it changes what the reviewed ``graph`` applies."""
    if system.environments[env].target.kind != "aws":
        return None, []
    from mlops_infra.compile import compile_system
    from mlops_infra.state.aws_live.model_registry import read_registry

    view = read_registry(system, env, prior, endpoint_url=endpoint_url)
    if view.warnings:
        return None, list(view.warnings)
    current = compile_system(system, env, project=graph.project, stack=graph.stack, registry=view)
    if current.digest() != graph.digest():
        moved = sorted(a for a, d in current.model_versions.items() if graph.model_versions.get(a, {}).get("state")
                       != d["state"] or graph.model_versions.get(a, {}).get("serve") != d["serve"])
        detail = "; ".join(f"{a.split('.', 1)[1]}: {current.model_versions[a]['state']} "
                           f"({current.model_versions[a]['why']})" for a in moved)
        raise UserError("the model registry changed what this apply would do: plan again",
                        f"Read now: {detail or 'the desired graph differs'}. Run `mlops-infra plan --refresh` "
                        "to review it, then apply.")
    return view, []


@contextlib.contextmanager
def registry_view_env(view: RegistryView | None) -> Iterator[dict[str, str]]:
    """``{MLOPS_INFRA_REGISTRY_VIEW: <file>}`` for the engine while the context lasts ({} without a view)."""
    if view is None:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="mlops-infra-") as folder:
        path = os.path.join(folder, "registry-view.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(view.to_json(), handle, sort_keys=True)
        yield {REGISTRY_VIEW_ENV: path}
