"""Model versions at apply time (finding A1): hand the view apply decided with to the Pulumi program.

Contract:
- ``apply`` decides which pinned versions are served from the registry read at its start
  (:func:`mlops_infra.cli.commands.plan.desired_and_prior` with ``read_registry``: the read of
  ``plan --refresh``, or the offline view with its warning when the read fails), and shows that plan.
- :func:`registry_view_env` writes that view to a private temporary file and yields the environment
  (``MLOPS_INFRA_REGISTRY_VIEW``) that makes the Pulumi program compile with it
  (:func:`mlops_infra.program.entry.registry_view`), so ``pulumi up`` registers exactly the graph
  shown, whatever the registry says by then, and never one the program decided alone (it would
  assume every version exists when its own read failed).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator

from mlops_infra.model_versions import REGISTRY_VIEW_ENV, RegistryView


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
