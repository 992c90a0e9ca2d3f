"""Integration: ``pulumi preview`` and ``pulumi up`` of the quickstart's AWS environment against moto.

Needs the Pulumi CLI on PATH (it downloads the pulumi-aws plugin on first use); skipped otherwise.
The stack runs in ``tmp_path`` with a local file backend, the interpreter running the tests (so
mlops_infra and the SDKs are importable) and every AWS endpoint pointed at a moto server on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"
ENV = "prod"

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.moto]


@pytest.fixture()
def pulumi_cli() -> str:
    path = shutil.which("pulumi")
    if path is None:
        pytest.skip("pulumi CLI not on PATH: install it (https://www.pulumi.com/docs/install/) to run "
                    "pulumi preview/up against moto; the program itself is covered under mocks")
    return path


@pytest.fixture()
def moto_endpoint():
    from tests.support.moto_server import running_moto_server

    with running_moto_server() as url:
        yield url


def make_stack_dir(tmp_path: Path) -> Path:
    from mlops_infra.spec import load_system

    project = load_system(QUICKSTART).system.metadata.name
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "Pulumi.yaml").write_text(
        f"name: {project}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {Path(sys.prefix)}\nmain: __main__.py\n")
    (stack_dir / f"Pulumi.{ENV}.yaml").write_text(
        f"config:\n  mlops:systemFile: {QUICKSTART}\n  mlops:environment: {ENV}\n")
    (stack_dir / "__main__.py").write_text("from mlops_infra.program import run\n\nrun()\n")
    return stack_dir


def test_preview_and_up_against_moto(pulumi_cli, moto_endpoint, tmp_path):
    from mlops_infra.apply import engine
    from mlops_infra.compile import compile_system
    from mlops_infra.spec import load_system

    stack_dir = make_stack_dir(tmp_path)
    options = {"aws_endpoint": moto_endpoint, "passphrase": "", "backend_url": f"file://{tmp_path}"}
    graph = compile_system(load_system(QUICKSTART, ENV).system, ENV)

    previewed = engine.preview(stack_dir, ENV, **options)
    assert previewed.changes.get("create", 0) >= len(graph.resources)

    applied = engine.up(stack_dir, ENV, **options)
    assert applied.outputs["mlopsGraphDigest"] == graph.digest()
    state = engine.export_state(stack_dir, ENV, **options)
    urns = {r["urn"] for r in state["deployment"]["resources"]}
    assert {r.urn for r in graph.resources} <= urns

    again = engine.preview(stack_dir, ENV, **options)
    assert set(again.changes) <= {"same"}, again.stdout
