"""The Kubernetes rollout runner's shipped files import alone: the runner runs only the files
``compile/rollout_code.KUBERNETES`` lists (projected from ConfigMaps), so a module one of them imports and the list
leaves out fails every scheduled rollout at its first import. ``diagnostics.py`` (shipped: ``errors.py`` imports it)
importing ``name_lists.py`` failed here before ``name_lists.py`` was listed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlops_infra.compile import rollout_code

RUNNER_IMPORTS = ("mlops_infra.rollout.runner", "mlops_infra.rollout.scheduled", "mlops_infra.rollout.drivers.kserve",
                  "mlops_infra.rollout.gates.prometheus", "mlops_infra.errors", "mlops_infra.kube.client")


def test_the_kubernetes_runner_files_import_with_nothing_else_of_mlops_infra(tmp_path: Path) -> None:
    for path, text in rollout_code.files(rollout_code.KUBERNETES):
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    code = "import sys; sys.path[:0] = [sys.argv[1]]\n" + "".join(f"import {m}\n" for m in RUNNER_IMPORTS) + (
        "import mlops_infra; assert mlops_infra.__file__.startswith(sys.argv[1]), mlops_infra.__file__")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
