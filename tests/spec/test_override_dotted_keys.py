"""An override of one key of a free-form mapping whose key holds dots (audit yamledge-7).

AWS tag keys allow ``_ . : / = + - @`` (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html);
a Kubernetes label key's prefix is a DNS subdomain (``app.kubernetes.io/part-of``,
https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set). The
override ``metadata.labels.cost.center`` was walked into a label ``cost`` ("not set in the base document"),
and the fix it offered (``metadata.labels.cost: <new value>``) tagged every resource with another label.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
FRAUD = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
DEV_LAST = "      endpoints.scorer.replicas: {min: 1, max: 2}\n"


@pytest.mark.parametrize("key", ["cost.center", "example.com/tier", "owner.example.com/team"])
def test_a_label_key_with_dots_is_overridden_as_one_key(key: str) -> None:
    text = edit(edit(FRAUD, "    team: risk\n", f"    team: risk\n    {key}: base\n"),
                DEV_LAST, DEV_LAST + f"      metadata.labels.{key}: dev\n")
    dev = parse_system(text, "m.yaml", env="dev")
    assert dev.ok, [str(d) for d in dev.diagnostics if d.is_error]
    labels = dev.system.metadata.labels
    assert labels[key] == "dev" and labels["team"] == "risk"
    assert key.split(".")[0] not in labels  # no other label made
    assert parse_system(text, "m.yaml", env="staging").system.metadata.labels[key] == "base"


def test_a_new_dotted_label_is_added_by_its_override() -> None:
    text = edit(FRAUD, DEV_LAST, DEV_LAST + "      metadata.labels.cost.center: ml-dev\n")
    dev = parse_system(text, "m.yaml", env="dev")
    assert dev.ok and dev.system.metadata.labels["cost.center"] == "ml-dev"


def test_a_bad_dotted_label_value_is_reported_at_its_override_line() -> None:
    text = edit(FRAUD, DEV_LAST, DEV_LAST + "      metadata.labels.cost.center: [a]\n")
    errors = [d for d in parse_system(text, "m.yaml", env="dev").diagnostics if d.is_error]
    assert errors and errors[0].location.line == line_of(text, "metadata.labels.cost.center"), errors


def test_a_dotted_hyperparameter_is_overridden_as_one_key() -> None:
    text = edit(edit(FRAUD, "{epochs: 10, learning_rate: 0.001}", "{epochs: 10, learning_rate: 0.001, optim.lr: 1}"),
                DEV_LAST, DEV_LAST + "      training_jobs.retrain.hyperparameters.optim.lr: 2\n")
    dev = parse_system(text, "m.yaml", env="dev")
    assert dev.ok, [str(d) for d in dev.diagnostics if d.is_error]
    assert dev.system.item("training_jobs", "retrain").hyperparameters["optim.lr"] == 2
