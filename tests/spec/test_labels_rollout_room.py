"""Labels leave the rollout controller room on a canary endpoint (lead finding, 2026-12-04).

The SageMaker rollout driver keeps a canary's state in up to ``DRIVER_MAX_TAGS`` tags of the endpoint
(``mlops_infra/endpoint_tags.py``). With 46 labels and mlops-infra's 4 tags every AWS tag slot is
taken, and each rollout fails at its first ``AddTags`` ("at most 50 tags"), before any traffic moves.
Validation refuses what does not leave that room, where the user wrote the labels, through the console
script (file:line, no traceback); an environment without a canary endpoint keeps all 46.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.endpoint_tags import DRIVER_MAX_TAGS, SCALING_TAG
from mlops_infra.spec import load_system
from mlops_infra.spec.labels import AWS_MAX_TAGS, AWS_OWN_TAGS
from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.shared_files import REFERENCE as REFERENCE_PATH
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REFERENCE_PATH.read_text()
ANCHOR = "    team: risk\n"
OWN_LABELS = 2  # cost-center, team
ROOM = AWS_MAX_TAGS - AWS_OWN_TAGS - DRIVER_MAX_TAGS
CANARY = ("      strategy: canary              # canary | blue_green | rolling | all_at_once\n"
          "      steps: [2, 5, 10, 25, 75, 100]  # percent of traffic on the new version, in order\n")


def _spec(tmp_path: Path, labels: int, text: str = REFERENCE) -> tuple[Path, str]:
    text = edit(text, ANCHOR, ANCHOR + "".join(f"    k{i}: v\n" for i in range(labels - OWN_LABELS)))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    return spec, text


def test_the_room_is_what_aws_allows_less_mlops_infras_tags_and_the_drivers() -> None:
    assert (AWS_MAX_TAGS, AWS_OWN_TAGS, DRIVER_MAX_TAGS, ROOM) == (50, 4, 17, 29)


def test_as_many_labels_as_leave_the_controller_its_room_validate(tmp_path: Path) -> None:
    spec, _ = _spec(tmp_path, ROOM)
    result = run_cli("validate", str(spec), "--env", "prod")
    assert result.code == 0, result.stderr


def test_one_more_is_an_error_at_the_labels_naming_how_many_fit_and_why(tmp_path: Path) -> None:
    spec, text = _spec(tmp_path, ROOM + 1)
    result = run_cli_subprocess("validate", str(spec), "--env", "prod")
    assert result.code == 1 and "Traceback" not in result.output
    err = result.stderr
    assert (f"{spec}:{line_of(text, '  labels:')}:3: error: {ROOM + 1} labels leave too little room for the "
            "rollout controller's tags on endpoint scorer") in err
    assert "AWS allows 50 tags per resource, so at most 46 labels fit; but endpoint scorer is rolled out" in err
    assert f"keeps the rollout's state in up to {DRIVER_MAX_TAGS} more tags on the endpoint" in err
    assert f"mlops-infra:rollout:..., mlops-infra:kept:..., {SCALING_TAG}" in err
    assert f"so at most {ROOM} labels fit here" in err and "every rollout fails at its first AddTags" in err
    assert "Remove 1, or roll out endpoint scorer with another strategy (blue_green, rolling)." in err
    assert run_cli("plan", str(spec), "--env", "prod").code == 1


def test_past_aws_own_limit_both_limits_are_named(tmp_path: Path) -> None:
    spec, _ = _spec(tmp_path, 60)
    err = run_cli("validate", str(spec), "--env", "prod").stderr
    assert "60 labels are more tags than AWS allows on a resource" in err
    assert "so at most 46 labels fit. Remove 14. Beyond that, endpoint scorer is rolled out" in err
    assert f"Remove {60 - ROOM} in all, or roll out endpoint scorer" in err


def test_without_a_canary_endpoint_every_aws_tag_slot_is_the_labels(tmp_path: Path) -> None:
    blue_green = edit(REFERENCE, CANARY, "      strategy: blue_green\n")
    spec, _ = _spec(tmp_path, AWS_MAX_TAGS - AWS_OWN_TAGS, blue_green)
    assert run_cli("validate", str(spec), "--env", "prod").code == 0
    spec, _ = _spec(tmp_path, AWS_MAX_TAGS - AWS_OWN_TAGS + 1, blue_green)
    result = run_cli("validate", str(spec), "--env", "prod")
    assert result.code == 1 and "AWS allows 50 tags per resource, so at most 46 labels fit. Remove 1." in result.stderr
    assert "rollout controller" not in result.stderr


def test_the_kubernetes_environment_is_not_limited_by_aws_tags(tmp_path: Path) -> None:
    spec, _ = _spec(tmp_path, ROOM + 5)
    assert run_cli("validate", str(spec), "--env", "dev").code == 0


@pytest.mark.parametrize("key", ["mlops-infra:rollout:phase", "mlops-infra:kept:config:x", SCALING_TAG])
def test_a_label_named_like_the_controllers_tags_is_refused_on_aws(tmp_path: Path, key: str) -> None:
    text = edit(REFERENCE, ANCHOR, ANCHOR + f'    "{key}": mine\n')
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    result = run_cli("validate", str(spec), "--env", "prod")
    assert result.code == 1
    assert (f'{spec}:{line_of(text, key)}:5: error: Label "{key}" is a tag name the rollout controller uses'
            in result.stderr)
    assert "it would overwrite this label, and the AWS provider ignores these names" in result.stderr


@pytest.mark.parametrize("path", [REFERENCE_PATH,
                                  *sorted(ROOT.glob("examples/*/mlsystem.yaml"))], ids=lambda p: p.parent.name)
def test_the_reference_spec_and_the_examples_still_validate(path: Path) -> None:
    loaded = load_system(path)
    assert loaded.ok, [d.summary for d in loaded.diagnostics if d.severity == "error"]


def test_a_hundred_canary_endpoints_are_six_names_and_how_many_more() -> None:
    """The error named every canary endpoint three times (summary, the reason, the fix): with many (the validate
    benchmark's system) it names the first six, then how many more."""
    from mlops_infra.spec import parse_system
    from tests.support.benchmarks import benchmark_module

    text = benchmark_module("bench_validate").generate(100)
    anchor = "    team: platform\n"
    text = edit(text, anchor, anchor + "".join(f"    k{i}: v\n" for i in range(ROOM + 1 - OWN_LABELS)))
    found = [d for d in parse_system(text, "bench.yaml", "prod").diagnostics if d.code == "invalid-tag"]
    assert len(found) == 1
    summary, detail = found[0].summary, found[0].detail
    assert summary.startswith(f"{ROOM + 1} labels leave too little room for the rollout controller's tags on "
                              "endpoints ep-") and summary.endswith(" more")
    names = summary.split(" on endpoints ", 1)[1]
    assert len(names.split(", ")) == 6 and " and " in names.rsplit(", ", 1)[1]
    assert detail.count(names) == 2, detail
    assert len(detail) < 1_500, len(detail)


def test_a_hundred_canary_endpoints_are_all_in_the_json_names(tmp_path: Path) -> None:
    """closing-44c-2. Fails before: the error's fix names six endpoints and ``error()`` could carry no ``names``,
    so ``validate --format json`` named 6 of the endpoints whose strategy must change."""
    import json

    from mlops_infra.spec import parse_system
    from tests.support.benchmarks import benchmark_module

    valid = benchmark_module("bench_validate").generate(100)
    canary = [e.name for e in parse_system(valid, "bench.yaml", "prod").system.endpoints
              if e.rollout.strategy == "canary"]
    anchor = "    team: platform\n"
    text = edit(valid, anchor, anchor + "".join(f"    k{i}: v\n" for i in range(ROOM + 1 - OWN_LABELS)))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    result = run_cli("validate", str(spec), "--format", "json")
    assert result.code == 1, result.output
    [found] = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "invalid-tag"]
    assert len(canary) == text.count("strategy: canary") > 7
    assert found["names"] == {"endpoints": canary}
