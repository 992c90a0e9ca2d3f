"""unknown-instance-count (audit autoscale-3; spec/scaling_counts.py says why): on AWS, cpu_utilization and
gpu_utilization need the instance's vCPU/GPU count, and the few SageMaker types the catalog has no count for are an
error naming the type, at the autoscaling line."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.spec import parse_system
from tests.support.cli import run_cli
from tests.support.text_edits import edit

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
INSTANCE = "    instance_type: ml.m5.xlarge     # a CPU instance: no accelerator\n"
SCALING = "    autoscaling: {metric: cpu_utilization, target: 60}\n"


def _quickstart(instance: str, scaling: str = SCALING) -> str:
    return edit(edit(QUICKSTART.read_text(), INSTANCE, f"    instance_type: {instance}\n"), SCALING, scaling)


def _found(text: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == "unknown-instance-count"]


def test_known_types_are_not_reported() -> None:
    for instance in ("ml.m5.xlarge", "ml.c5.2xlarge", "ml.c6i.32xlarge", "ml.r7i.large"):
        assert _found(_quickstart(instance)) == [], instance


def test_cpu_utilization_on_a_type_of_unknown_count_is_an_error_naming_it() -> None:
    found = _found(_quickstart("ml.dl1.24xlarge"))
    assert found and all(d.severity == "error" and d.path == ("endpoints", 0, "autoscaling") for d in found)
    assert all("ml.dl1.24xlarge" in d.summary and "vCPU count" in d.summary for d in found)
    assert "invocations_per_replica" in found[0].detail


def test_other_metrics_need_no_count() -> None:
    text = _quickstart("ml.dl1.24xlarge", "    autoscaling: {metric: invocations_per_replica, target: 50}\n")
    assert _found(text) == []


def test_validate_fails_with_file_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(_quickstart("ml.dl1.24xlarge"))
    result = run_cli("validate", str(spec))
    line = spec.read_text().splitlines().index(SCALING.rstrip("\n")) + 1
    assert result.code == 1 and "Traceback" not in result.stderr + result.stdout
    output = result.stdout + result.stderr
    assert f"mlsystem.yaml:{line}:5: error" in output and "vCPU count of ml.dl1.24xlarge" in output
