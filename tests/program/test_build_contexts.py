"""The drift-job image's build context: an empty directory the program makes, never the stack directory.

pulumi-docker-build hashes every file under ``context.location`` in ``Image.Diff`` and rebuilds and
pushes when the hash changes (``provider/internal/image.go``, ``provider/internal/context.go``
``hashBuildContext``; only a ``.dockerignore`` excludes files); the repository's tags are immutable,
so a second push of the tag is refused (botocore ``ecr`` ``ImageTagAlreadyExistsException``). With the
stack directory as context, the file backend's ``.pulumi/`` files made every later apply fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import drift_image
from mlops_infra.program import run
from mlops_infra.program.build_contexts import prepare_build_contexts
from mlops_infra.spec import load_system
from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def graph(env: str):
    loaded = load_system(EXAMPLE, env)
    assert loaded.ok, loaded.diagnostics
    return compile_system(loaded.system, env)


def test_the_image_builds_from_a_fixed_relative_context_that_is_not_the_stack_directory() -> None:
    [image] = [r for r in graph("prod").resources if r.type == drift_image.IMAGE]
    location = image.inputs["context"]["location"]
    assert location == drift_image.BUILD_CONTEXT
    assert not os.path.isabs(location) and ".." not in Path(location).parts
    assert Path(location) != Path(".")


def test_the_context_holds_only_an_ignore_all_file_whatever_the_stack_directory_holds(tmp_path: Path) -> None:
    (tmp_path / ".pulumi" / "stacks").mkdir(parents=True)
    (tmp_path / ".pulumi" / "stacks" / "prod.json").write_text("{}")  # the file backend's state
    [made] = prepare_build_contexts(graph("prod"), tmp_path)
    assert made == tmp_path / drift_image.BUILD_CONTEXT
    assert sorted(p.name for p in made.iterdir()) == [".dockerignore"]
    assert (made / ".dockerignore").read_text() == "*\n"
    before = (made / ".dockerignore").stat().st_mtime_ns
    (made / "stray.txt").write_text("ignored by the provider's hash: .dockerignore excludes it")
    assert prepare_build_contexts(graph("prod"), tmp_path) == [made]
    assert (made / ".dockerignore").stat().st_mtime_ns == before  # unchanged: not rewritten


def test_a_changed_ignore_file_is_put_back(tmp_path: Path) -> None:
    [made] = prepare_build_contexts(graph("prod"), tmp_path)
    (made / ".dockerignore").write_text("!stray.txt\n")
    prepare_build_contexts(graph("prod"), tmp_path)
    assert (made / ".dockerignore").read_text() == "*\n"


def test_a_graph_without_an_image_makes_nothing(tmp_path: Path) -> None:
    assert prepare_build_contexts(graph("dev"), tmp_path) == []  # Kubernetes: no image to build
    assert list(tmp_path.iterdir()) == []


def test_the_program_makes_the_context_in_its_working_directory_before_registering(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """Pulumi runs the program in the stack directory; the provider refuses a missing context
    directory (``BuildContext.validate``: "not a valid directory or URL"), at preview too."""
    expected = graph("prod")
    monkeypatch.chdir(tmp_path)
    capture = capture_program(lambda: run(str(EXAMPLE), "prod"), expected.project, expected.stack,
                              referenced_outputs(expected))
    assert differences(expected, capture) == []
    assert (tmp_path / drift_image.BUILD_CONTEXT / ".dockerignore").read_text() == "*\n"
