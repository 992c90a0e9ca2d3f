"""A Kubernetes endpoint's name leaves room for its rollout's Knative route tags (audit limits-2; spec/names.py
``kserve_name_max``).

KServe tags the revision rolled out before ``prev`` while a canary holds less than 100 %, and with tag routing
(``blue_green``) the new revision ``latest`` (kserve ``ksvc_reconciler.go``); Knative's default ``tag-template``
``{{.Tag}}-{{.Name}}`` makes ``prev-<name>-predictor`` / ``latest-<name>-predictor`` host labels, which must fit
63 characters or the Route fails. Before the fix only ``<name>-predictor`` (53) was checked: a 50-character canary
endpoint and a 47-character blue_green one validated, and their Routes could never be ready.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_infra.spec import parse_system
from mlops_infra.spec.names import kserve_name_max
from tests.support.cli import run_cli

REFERENCE = (Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()


def _spec(length: int, strategy: str) -> str:
    """The reference with its endpoint ``scorer`` named ``length`` characters, rolled out by ``strategy``."""
    name = "scorer-" + "x" * (length - len("scorer-"))
    text = re.sub(r"\bscorer\b(?!-)", name, REFERENCE)
    if strategy != "canary":
        text = text.replace("strategy: canary  ", f"strategy: {strategy}  ").replace(
            "      steps: [2, 5, 10, 25, 75, 100]  # percent of traffic on the new version, in order\n", "")
    return text


def _name_errors(text: str) -> list[str]:
    diagnostics = parse_system(text, "mlsystem.yaml", "dev").diagnostics
    return [d.summary + " " + d.detail for d in diagnostics if d.code == "invalid-name-for-target"]


def test_the_longest_names_are_the_tag_hosts_room() -> None:
    assert kserve_name_max("canary") == 63 - len("-predictor") - len("prev-") == 48
    assert kserve_name_max("blue_green") == 63 - len("-predictor") - len("latest-") == 46
    assert kserve_name_max("rolling") == kserve_name_max("all_at_once") == 53


@pytest.mark.parametrize(("strategy", "longest"), [("canary", 48), ("blue_green", 46), ("rolling", 53)])
def test_a_kubernetes_endpoint_one_character_too_long_for_its_tag_host_is_refused(strategy: str,
                                                                                   longest: int) -> None:
    assert _name_errors(_spec(longest, strategy)) == []
    (found,) = _name_errors(_spec(longest + 1, strategy))
    assert f"is {longest + 1} characters" in found and f"so at most {longest}" in found
    tag = {"canary": "prev-", "blue_green": "latest-"}.get(strategy)
    if tag:
        assert f"{tag}<name>-predictor (the {strategy} rollout's Knative route tag)" in found


def test_validate_names_the_endpoint_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(_spec(50, "canary"))

    result = run_cli("validate", str(path))

    assert result.code == 1
    assert f"{path}:66:11: error: Endpoint name \"scorer-{'x' * 43}\" cannot name a KServe InferenceService" \
        in result.output
    assert "prev-<name>-predictor (the canary rollout's Knative route tag) must fit one 63-character DNS label, " \
           "so at most 48" in result.output
    assert "Rename the endpoint." in result.output
    assert "Traceback" not in result.output
