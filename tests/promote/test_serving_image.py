"""Audit finding promote-3: a promoted package carries the image DST's own graph serves the model with.

The compiled ``Model`` serves ``primaryContainer.modelPackageName`` (``compile/aws/serving._add_model``),
so the package's image is the one that runs; botocore ``sagemaker/2017-07-24`` ``ContainerDefinition.Image``:
the inference image "must be in the same region as the model or endpoint you are creating", and DST's serving
role may pull only the images DST's compiler resolves (``ModelImagesPull``). ``register-version`` used to pick
the image by a rule of its own: llm-platform's reranker (``framework_version: "2.5"``, no job) got staging's
us-east-1 image in prod us-west-2, and no image at all from dev into staging.

The expected image is read from DST's compiled graph, not from the rule under test: the ``models.<m>``
component's ``servingImage`` (a model that names or resolves one), else the image of the ``RegisterModel``
step of the pipeline registering into ``<m>``'s group (what DST's own training registers).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.promote.artifacts import execute_steps, plan_steps
from mlops_infra.promote.promote import plan_promotion
from mlops_infra.spec import load_system
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import assumed_session, write_view

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*/mlsystem.yaml"))
ECR = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)")


def aws_promotions() -> list[tuple[Path, str, str]]:
    """(example, SRC, DST) for every AWS environment of an example that promotes from another."""
    found = []
    for path in EXAMPLES:
        envs = yaml.safe_load(path.read_text(encoding="utf-8"))["environments"]
        found += [(path, env["promote_from"], name) for name, env in envs.items()
                  if env.get("promote_from") and env["target"]["kind"] == "aws"]
    return found


def compiled_images(graph) -> dict[str, str | None]:
    """model name -> the image DST's graph serves it with (see the module docstring)."""
    groups = {r.urn: r.inputs["modelPackageGroupName"] for r in graph.resources
              if r.type == "aws:sagemaker/modelPackageGroup:ModelPackageGroup"}
    found: dict[str, str | None] = {}
    for r in graph.resources:
        if r.type == "mlops:registry:Model":
            found[r.inputs["name"]] = r.inputs.get("servingImage")
    registered: dict[str, str] = {}
    for r in graph.resources:
        if r.type != "aws:sagemaker/pipeline:Pipeline":
            continue
        for step in r.inputs["pipelineDefinition"]["$json"]["Steps"]:
            if step["Type"] == "RegisterModel":
                group = groups[step["Arguments"]["ModelPackageGroupName"]["$ref"]]
                registered[group] = step["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"]
    return {m: image or registered.get(_group_name(graph, m)) for m, image in found.items()}


def _group_name(graph, model: str) -> str | None:
    return next((r.inputs["modelPackageGroupName"] for r in graph.resources
                 if r.type == "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
                 and r.urn.endswith(f"::{model}-model-package-group")), None)


def pullable(graph, system, model: str) -> set[str]:
    """ECR repository ARNs the serving roles of ``model``'s endpoints may pull (``ModelImagesPull``)."""
    endpoints = {e.name for e in system.endpoints if e.model.name == model}
    found: set[str] = set()
    for r in graph.resources:
        name = r.urn.rsplit("::", 1)[-1]
        if r.type == "aws:iam/rolePolicy:RolePolicy" and name.removesuffix("-serving-policy") in endpoints:
            found |= {arn for s in r.inputs["policy"]["$json"]["Statement"] if s.get("Sid") == "ModelImagesPull"
                      for arn in s["Resource"]}
    return found


def repository_arn(image: str) -> str:
    match = ECR.match(image)
    assert match, image
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"


def views(path: Path, src: str, dst: str) -> tuple[RegistryView, RegistryView]:
    """SRC's registry holds every version SRC pins, with the image SRC's own graph gives it (an AWS SRC's
    package carries its region's image; MLflow records none); DST's registry is empty."""
    system = load_system(path, src).system
    images = compiled_images(compile_system(system, src)) if system.environments[src].target.kind == "aws" else {}
    src_models: dict[str, dict[int, VersionRecord]] = {}
    for i, endpoint in enumerate(system.endpoints):
        model, version = endpoint.model.name, endpoint.model.version
        src_models.setdefault(model, {})[version] = VersionRecord(
            version, "Approved", "Completed", artifact_uri=f"s3://{src}-models/{model}/{version}/",
            image=images.get(model), digest="sha256:" + f"{i + 1:02x}" * 32)
    src_view = RegistryView({m: ModelRegistry(m, f"{src} {m}", "registry", True, v) for m, v in src_models.items()})
    dst_view = RegistryView({m: ModelRegistry(m, f"{dst} {m}", "registry", True, {}) for m in src_models})
    return src_view, dst_view


@pytest.mark.parametrize(("path", "src", "dst"), aws_promotions(),
                         ids=[f"{p.parent.name}-{s}-{d}" for p, s, d in aws_promotions()])
def test_every_register_step_serves_the_image_of_dst_compiled_graph(path: Path, src: str, dst: str) -> None:
    src_view, dst_view = views(path, src, dst)
    promotion = plan_promotion(path.read_text(encoding="utf-8"), str(path), src, load_system(path, src).system,
                               src_view, dst, load_system(path, dst).system, dst_view)
    graph = compile_system(promotion.dst_system, dst)
    expected = compiled_images(graph)
    registers = [s for s in plan_steps(promotion, graph) if s.kind == "register-version"]
    assert {s.model for s in registers} == {e.model.name for e in promotion.src_system.endpoints}
    region = promotion.dst_system.environments[dst].target.region
    for step in registers:
        compiled = expected[step.model]
        match = ECR.match(compiled or "")
        if match and match["region"] != region:  # xpromote-2: refused, never registered in another region
            assert step.detail["image"] is None, step.model
            assert (f"{compiled}, is an ECR image of {match['region']}, not of {region}" in step.detail["imageProblem"]
                    and f"set models.{step.model}.serving_image for {dst} (an override)" in step.detail["imageProblem"])
            continue
        assert step.detail["image"] == compiled, step.model
        if step.detail["image"] is None:  # nothing in DST names an image: SRC's (MLflow) has none either
            assert f"models.{step.model}.serving_image" in step.detail["imageProblem"]
        else:
            assert repository_arn(step.detail["image"]) in pullable(graph, promotion.dst_system, step.model)


def test_the_llm_platform_reranker_gets_each_region_s_framework_image() -> None:
    """The finding's two cases, spelled out: prod us-west-2 gets the us-west-2 image, not staging's; dev ->
    staging gets the us-east-1 one, where there was none."""
    path = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
    for src, dst, region in (("staging", "prod", "us-west-2"), ("dev", "staging", "us-east-1")):
        src_view, dst_view = views(path, src, dst)
        promotion = plan_promotion(path.read_text(encoding="utf-8"), str(path), src, load_system(path, src).system,
                                   src_view, dst, load_system(path, dst).system, dst_view)
        step = next(s for s in plan_steps(promotion, compile_system(promotion.dst_system, dst))
                    if s.kind == "register-version" and s.model == "reranker")
        assert step.detail["image"] == f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.5-gpu-py311"


QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"  # prod us-east-1; churn-model: artifacts_uri only


FILES = {"model.joblib": b"churn weights"}
DIGEST = "sha256:" + hashlib.sha256("".join(
    f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(FILES.items())).encode()).hexdigest()
"""The manifest digest of FILES (docs/promote.md: one ``<sha256>  <path>`` line per file, sorted)."""


def out_of_band(image: str | None) -> tuple:
    """The artifact steps of a promotion into quickstart's prod of churn-model, which prod neither names
    an image for nor trains, from a source version (FILES under ``s3://src-models/churn-model/1/``)
    carrying ``image``: (copy, register)."""
    system = load_system(QUICKSTART, "prod").system
    record = VersionRecord(1, "Approved", "Completed", artifact_uri="s3://src-models/churn-model/1/", image=image,
                           digest=DIGEST)
    mapping = SimpleNamespace(model="churn-model", digest=record.digest, registered=False, dst_version=1,
                              src_version=1, dst_where="prod", src_record=record)
    promotion = SimpleNamespace(src="dev", dst="prod", dst_system=system, src_system=system,
                                versions=SimpleNamespace(mappings=[mapping]))
    copy, register = plan_steps(promotion, compile_system(system, "prod"))
    assert (copy.kind, register.kind) == ("copy-artifact", "register-version")
    return copy, register


def test_an_out_of_band_model_keeps_the_source_image_of_dst_s_region() -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serve:2.0.1"
    _, step = out_of_band(image)
    assert step.detail["image"] == image and "imageProblem" not in step.detail


@pytest.mark.moto
def test_an_out_of_band_model_refuses_a_source_image_of_another_region(moto_url: str) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:2.0.1"
    copy, step = out_of_band(image)
    assert step.detail["image"] is None
    problem = step.detail["imageProblem"]
    assert image in problem and "us-east-1" in problem and "models.churn-model.serving_image" in problem
    # carried out: refused before the first byte is copied (a copy that can never be registered would stay in
    # DST's bucket): the registration fails with that reason, the copy is not run, nothing is registered
    session = assumed_session(moto_url, "arn:aws:iam::123456789012:role/promoter-image", "us-east-1")
    s3 = session.client("s3", endpoint_url=moto_url)
    for bucket in ("src-models", copy.destination.removeprefix("s3://").split("/", 1)[0]):
        s3.create_bucket(Bucket=bucket)
    for name, body in FILES.items():
        s3.put_object(Bucket="src-models", Key=f"churn-model/1/{name}", Body=body)
    sagemaker = session.client("sagemaker", endpoint_url=moto_url)
    sagemaker.create_model_package_group(ModelPackageGroupName=step.detail["group"])
    copied, registered = execute_steps([copy, step], src_session=session, dst_session=session, endpoint_url=moto_url)
    assert (copied.status, copied.outcome) == ("failed", "not run: register-version churn-model is refused, and "
                                               "nothing is copied while a step is refused")
    assert (registered.status, registered.outcome) == ("failed", problem)
    assert s3.list_objects_v2(Bucket=copy.destination.removeprefix("s3://").split("/", 1)[0]).get("KeyCount") == 0
    assert sagemaker.list_model_packages(ModelPackageGroupName=step.detail["group"])["ModelPackageSummaryList"] == []


def test_the_cli_shows_the_image_prod_serves_for_the_llm_platform(tmp_path: Path) -> None:
    """``promote --to prod --format json`` on saved registry reads (the audit's w3 set-up): every
    register step's image is prod's compiled one."""
    path = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
    file = tmp_path / "mlsystem.yaml"
    file.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    src_view, dst_view = views(path, "staging", "prod")
    staging, prod = write_view(tmp_path / "staging.json", src_view), write_view(tmp_path / "prod.json", dst_view)
    skips = [a for gate in load_system(file, "prod").system.environments["prod"].gates for a in ("--skip-gate", gate)]
    result = run_cli("promote", str(file), "--to", "prod", "--format", "json", *skips, "--reason", "images only",
                     "--registry", f"staging={staging}", "--registry", f"prod={prod}")
    assert result.code == 0, result.output
    steps = [s for s in json.loads(result.stdout)["promotion"]["artifactSteps"] if s["kind"] == "register-version"]
    expected = compiled_images(compile_system(load_system(file, "prod").system, "prod"))
    assert {s["model"]: s["detail"]["image"] for s in steps} == expected
    assert expected["reranker"].startswith("763104351884.dkr.ecr.us-west-2.amazonaws.com/")
