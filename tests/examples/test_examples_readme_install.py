"""Every example validates and plans after the README's exact install, from a temporary directory.

The README's first set-up command installs mlops-infra with no extra; the guide says the heavy extras
(torch, sagemaker) are never needed for validate or plan. Before the SageMaker image tables were
packaged (mlops_infra/ml/image_tables), ``validate examples/llm-platform/mlsystem.yaml`` exited 1 on
that install: its reranker names a ``framework_version``, whose image came from sagemaker-core's table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.support.user_venv import USER_VENV_TIMEOUT

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SYSTEMS = sorted(path.parent.name for path in EXAMPLES.glob("*/mlsystem.yaml"))


def test_there_are_examples_to_check() -> None:
    assert {"fraud-detection", "llm-platform", "quickstart"} <= set(SYSTEMS)


@pytest.mark.timeout(USER_VENV_TIMEOUT)
@pytest.mark.parametrize("example", SYSTEMS)
def test_an_example_validates_and_plans_every_environment_after_the_readme_install(user_venv, tmp_path: Path,
                                                                                  example: str) -> None:
    assert not user_venv.has_module("sagemaker"), "the README's install has no SageMaker SDK"
    assert not user_venv.has_module("torch"), "the README's install has no torch"
    shutil.copytree(EXAMPLES / example, tmp_path / example)
    document = tmp_path / example / "mlsystem.yaml"
    environments = list(yaml.safe_load(document.read_text())["environments"])
    assert environments
    validate = user_venv.run("validate", str(document), cwd=tmp_path, timeout=300)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "Traceback" not in validate.stderr
    for env in environments:
        plan = user_venv.run("plan", str(document), "--env", env, cwd=tmp_path, timeout=300)
        assert plan.returncode == 0, (env, plan.stdout[-2000:], plan.stderr[-2000:])
        assert "Traceback" not in plan.stderr and "Plan:" in plan.stdout, env
