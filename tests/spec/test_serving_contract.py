"""``validate`` warns of a promotion the spec alone says will be refused (audit finding xpromote-3), and the
optional ``models.<m>.serving_contracts`` declares that a model's image (or artifact) serves a contract.

:mod:`mlops_infra.spec.serving_contract`: llm-platform's reranker (pytorch 2.5, no ``serving_image``) is served by
KServe's TorchServe runtime in dev (``model-store/*.mar``, kserve v0.15.0 ``config/runtimes/kserve-torchserve.yaml``)
and by SageMaker's PyTorch container in staging (``model.pt`` or ``code/inference.py``): ``promote`` refuses it, and
``validate`` says so at staging's ``promote_from``. The reference's fraud-model is served in staging by an image:
whether it speaks SageMaker's contract cannot be known from the spec, so ``validate`` says nothing (``promote`` warns).
"""

from __future__ import annotations

import json
import typing
from pathlib import Path

from mlops_infra.compile.kubernetes.serving import MODEL_FORMATS
from mlops_infra.spec import load_system, parse_system
from mlops_infra.spec.registry import Framework
from mlops_infra.spec.serving_contract import KSERVE_FORMATS, contract_findings

REPO = Path(__file__).resolve().parents[2]
LLM = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
DECLARED = "    serving_contracts: [kserve, sagemaker]\n"


def mismatches(result) -> list:
    return [d for d in result.diagnostics if d.code == "serving-contract-mismatch"]


def test_validate_warns_at_promote_from_of_a_promotion_that_will_be_refused() -> None:
    result = load_system(LLM)
    assert result.ok
    warning, = mismatches(result)
    assert warning.severity.value == "warning" and warning.address == "models.reranker"
    assert warning.path == ("environments", "staging", "promote_from")
    text = LLM.read_text(encoding="utf-8").splitlines()
    assert "promote_from: dev" in text[warning.location.line - 1]
    # closing-37a-1: refused only when the artifact lacks staging's layout (one artifact can hold both)
    assert warning.summary == ("Promoting reranker from dev into staging will be refused unless its artifact holds "
                               "staging's layout too: staging's server loads another layout than dev's")
    assert "Add staging's layout to the artifact" in warning.detail
    assert "model-store/<name>.mar and config/config.properties" in warning.detail
    assert "models.reranker.serving_contracts listing sagemaker" in warning.detail


def test_a_warning_promote_gives_is_not_repeated_by_validate() -> None:
    assert mismatches(load_system(FRAUD)) == []


def test_declaring_the_contract_silences_validate_and_promote(tmp_path: Path) -> None:
    text = LLM.read_text(encoding="utf-8")
    anchor = '    framework_version: "2.5"'
    assert text.count(anchor) == 1
    file = tmp_path / "mlsystem.yaml"
    file.write_text(text.replace(anchor, DECLARED + anchor), encoding="utf-8")
    assert mismatches(load_system(file)) == []
    dev, staging = load_system(file, "dev").system, load_system(file, "staging").system
    assert dev.item("models", "reranker").serving_contracts == ["kserve", "sagemaker"]
    assert [f.model for f in contract_findings("dev", dev, "staging", staging, {"reranker": ("reranker",)})] == []


def test_declaring_another_contract_only_keeps_the_finding(tmp_path: Path) -> None:
    text = LLM.read_text(encoding="utf-8").replace('    framework_version: "2.5"',
                                                   '    serving_contracts: [kserve]\n    framework_version: "2.5"')
    assert len(mismatches(parse_system(text, "llm.yaml"))) == 1


def test_an_unknown_contract_is_refused_with_the_choices() -> None:
    text = LLM.read_text(encoding="utf-8").replace('    framework_version: "2.5"',
                                                   '    serving_contracts: [sagemker]\n    framework_version: "2.5"')
    result = parse_system(text, "llm.yaml")
    assert not result.ok
    assert any("serving_contracts" in ".".join(map(str, d.path)) for d in result.diagnostics if d.is_error)


def test_kserve_formats_agree_with_the_compiler() -> None:
    for framework in typing.get_args(Framework):
        assert KSERVE_FORMATS.get(framework, framework) == MODEL_FORMATS[framework]


def test_the_schema_offers_the_field() -> None:
    schema = json.loads((REPO / "schemas" / "mlsystem-v1.schema.json").read_text(encoding="utf-8"))
    model = schema["$defs"]["Model"]["properties"]["serving_contracts"]
    assert "kserve" in json.dumps(model) and "sagemaker" in json.dumps(model)


def test_a_model_served_by_a_hundred_endpoints_names_six_and_how_many_more() -> None:
    """The warning's ``<model> (endpoints ...)`` named every endpoint serving the model: with 100 it names the first
    six, then how many more (:mod:`mlops_infra.name_lists`)."""
    text = LLM.read_text(encoding="utf-8")
    anchor = "  - name: reranker\n    model: {name: reranker, version: 2}\n"
    assert text.count(anchor) == 1
    more = "".join(f"  - {{name: rr-{i:03}, model: {{name: reranker, version: 2}}, accelerator: {{type: L4, count: 1}}, "
                   "replicas: {min: 1, max: 1}}\n" for i in range(99))
    text = text.replace(anchor, more + anchor)
    dev, staging = (parse_system(text, "llm.yaml", env).system for env in ("dev", "staging"))
    served = {"reranker": tuple(e.name for e in dev.endpoints if e.model.name == "reranker")}
    finding, = [f for f in contract_findings("dev", dev, "staging", staging, served) if f.model == "reranker"]
    assert len(finding.endpoints) == 100
    assert finding.summary.startswith("reranker (endpoints reranker, rr-000, rr-001, rr-002, rr-003, rr-004 and 94 "
                                      "more): "), finding.summary
