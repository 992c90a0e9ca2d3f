"""SageMaker framework image URIs: two regions x training/inference x CPU/GPU, a version that does
not exist, every answer equal to the SDK's own ``image_uris.retrieve``, the package's copy of the
SDK's tables equal to the installed SDK's, and resolution with no SDK installed."""

from __future__ import annotations

import functools
import logging
import subprocess
import sys

import pytest

from mlops_infra.ml import images

needs_sdk = pytest.mark.skipif(images.sdk_tables() is None,
                               reason="the SageMaker SDK is in the test extra: pip install -e '.[test]'")


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
@pytest.mark.parametrize(("scope", "repository"), [("training", "pytorch-training"), ("inference", "pytorch-inference")])
@pytest.mark.parametrize(("instance", "processor"), [("ml.m5.xlarge", "cpu"), ("ml.g5.xlarge", "gpu")])
def test_pytorch_images_per_region_scope_and_processor(region: str, scope: str, repository: str, instance: str,
                                                         processor: str) -> None:
    uri = images.resolve("pytorch", "2.5", region, scope, instance)
    assert uri == f"763104351884.dkr.ecr.{region}.amazonaws.com/{repository}:2.5-{processor}-py311"


def test_a_version_without_an_inference_image_lists_those_that_exist() -> None:
    assert "2.8" in images.versions("pytorch", "training")  # a training image exists...
    with pytest.raises(images.ImageError, match=r"pytorch 2\.8 has no SageMaker inference image") as caught:
        images.resolve("pytorch", "2.8", "eu-west-1", "inference", "ml.g5.xlarge")  # ...but no inference one
    assert caught.value.choices[:2] == ("2.6.0", "2.6")  # newest first, aliases included


def test_a_version_that_never_existed() -> None:
    with pytest.raises(images.ImageError) as caught:
        images.resolve("pytorch", "9.9", "us-east-1", "training", "ml.g5.xlarge")
    assert "2.5" in caught.value.choices


def test_a_region_without_the_image() -> None:
    with pytest.raises(images.ImageError, match="in mars-north-1"):
        images.resolve("pytorch", "2.5", "mars-north-1", "training", "ml.g5.xlarge")


def test_sklearn_has_cpu_images_only() -> None:
    assert images.resolve("sklearn", "1.2-1", "us-east-1", "inference", "ml.m5.xlarge").endswith(
        "/sagemaker-scikit-learn:1.2-1-cpu-py3")
    with pytest.raises(images.ImageError, match="no GPU"):
        images.resolve("sklearn", "1.2-1", "us-east-1", "inference", "ml.g5.xlarge")


@needs_sdk
def test_answers_are_what_the_sdk_retrieves(monkeypatch: pytest.MonkeyPatch) -> None:
    """The four frameworks, both scopes, their two newest versions and oldest one, two regions, CPU
    and GPU (each ``retrieve`` re-reads the table: ~0.2 s; all 1,228 cases matched when written).
    Each ``retrieve`` also parsed botocore's whole ``endpoints`` data again, for the ECR host name
    (``sagemaker/core/common_utils.py`` ``_botocore_resolver``: a new loader per call, most of the
    test's time): here it is parsed once; the resolver is only read, and the answers are the same."""
    from sagemaker.core import image_uris

    monkeypatch.setattr(image_uris.utils, "_botocore_resolver", functools.cache(image_uris.utils._botocore_resolver))
    logging.disable(logging.CRITICAL)
    try:
        compared = 0
        for framework in images.FRAMEWORKS:
            for scope in ("training", "inference"):
                known = images.versions(framework, scope)
                for version in (*known[:2], known[-1]):
                    for region in ("us-east-1", "eu-west-1"):
                        for instance in ("ml.m5.xlarge", "ml.g5.xlarge"):
                            compared += 1
                            assert _mine(framework, version, region, scope, instance) == _sdk(
                                image_uris, framework, version, region, scope, instance), (framework, version, scope)
    finally:
        logging.disable(logging.NOTSET)
    assert compared >= 90


def _mine(framework: str, version: str, region: str, scope: str, instance: str) -> str | None:
    try:
        return images.resolve(framework, version, region, scope, instance)
    except images.ImageError:
        return None


def _sdk(image_uris, framework: str, version: str, region: str, scope: str, instance: str) -> str | None:
    config = images._scope(framework, scope)
    entry = config["versions"].get(config.get("version_aliases", {}).get(version, version), {})
    py = entry.get("py_versions") or [k for k in entry if k.startswith("py")]
    try:
        return image_uris.retrieve(framework, region=region, version=version, image_scope=scope, instance_type=instance,
                                   py_version=max(py, key=lambda p: int(p[2:] or 0)) if py else None)
    except ValueError:
        return None


@needs_sdk
def test_the_packaged_tables_are_the_installed_sdks() -> None:
    """The copy under ``mlops_infra/ml/image_tables`` is byte for byte the tables of the sagemaker-core
    release constraints.txt pins (so the comparison with ``retrieve`` above covers what users run)."""
    sdk = images.sdk_tables()
    for framework in images.FRAMEWORKS:
        assert (images.TABLES / f"{framework}.json").read_bytes() == (sdk / f"{framework}.json").read_bytes(), (
            f"{framework}.json differs from the installed SDK's ({sdk}): run .ci/update-image-tables")


def test_the_packaged_tables_name_their_source() -> None:
    source = (images.TABLES / "SOURCE.md").read_text()
    assert "Apache License 2.0" in source and "sagemaker-core" in source
    pinned = next(line for line in (images.TABLES.parents[2] / "constraints.txt").read_text().splitlines()
                  if line.startswith("sagemaker-core=="))
    assert pinned.split("==")[1] in source, "SOURCE.md names the release the tables were copied from"


def test_images_resolve_with_no_sdk_installed() -> None:
    """Validate and plan never need the heavy sagemaker extra: in a process where no SageMaker SDK
    distribution can be found, a framework image still resolves, to the same URI."""
    script = """
import importlib.metadata as metadata
real = metadata.distribution
def distribution(name):
    if name.replace("_", "-") in ("sagemaker-core", "sagemaker"):
        raise metadata.PackageNotFoundError(name)
    return real(name)
metadata.distribution = distribution
import sys
sys.modules["sagemaker"] = None  # any import of the SDK fails
from mlops_infra.ml import images
assert images.sdk_tables() is None
print(images.resolve("pytorch", "2.5", "eu-west-1", "inference", "ml.g5.xlarge"))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.5-gpu-py311"
