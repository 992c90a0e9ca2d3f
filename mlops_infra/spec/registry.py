"""The model registry: versioned models with an approval workflow."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from mlops_infra.ml.dtypes import SpecDtype
from mlops_infra.spec.base import Name, SpecModel
from mlops_infra.spec.image_refs import ImageReference
from mlops_infra.spec.model_facts import Architecture, Generation, ParameterCount
from mlops_infra.spec.patterns import WHITESPACE

Framework = Literal["pytorch", "tensorflow", "sklearn", "xgboost", "huggingface", "onnx", "custom"]


class Model(SpecModel):
    """A registered model: a group of versions with an approval mode."""

    name: Name = Field(description="Unique name of the model.")
    framework: Framework = Field(description="pytorch, tensorflow, sklearn, xgboost, huggingface, onnx or custom.")
    approval: Literal["manual", "automatic"] = Field(
        default="manual", description="manual: a person approves each version; automatic: approved on registration."
    )
    description: str | None = Field(default=None, description="What the model does.")
    framework_version: str | None = Field(
        default=None, min_length=1,
        description="Framework version (pytorch 2.5, sklearn 1.2-1): the serving container is the SageMaker "
                    "framework image of that version in each AWS environment's region (docs/model-fit.md).")
    serving_image: ImageReference | None = Field(
        default=None,
        description="The container image that serves this model's versions (instead of the training image that "
                    "registers them); on AWS an ECR image in each environment's region; on Kubernetes a KServe custom "
                    "predictor that loads the version from /mnt/models and listens on port 8080.")
    serving_contracts: list[Literal["kserve", "sagemaker"]] | None = Field(
        default=None, min_length=1,
        description="The serving contracts this model's serving_image (or, served by the platforms' own servers, its "
                    "artifact, laid out for both) is built for: kserve (model at /mnt/models, KServe's paths on $PORT "
                    "8080) and/or sagemaker (docker run IMAGE serve, /ping and /invocations on 8080, model at "
                    "/opt/ml/model). Declares that a promotion across clouds may serve it: promote then neither warns "
                    "nor refuses (docs/promote.md).")
    artifacts_uri: str | None = Field(
        default=None, min_length=6, max_length=1024, pattern=rf"^s3://[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9](/[^{WHITESPACE}]*)?$",
        description="s3:// prefix under which versions registered outside this system (another pipeline, or promoted "
                    "in) keep their artifacts; on AWS, the serving roles may read exactly this prefix (needed when no "
                    "training job here registers the model); on Kubernetes, KServe downloads <artifacts_uri>"
                    "<version>/ when the registry does not give the version's source.")
    parameters: ParameterCount | None = Field(
        default=None, description="Parameter count (7B, 125M): with dtype, sizes the model for the memory checks.")
    dtype: SpecDtype | None = Field(
        default=None, description="Dtype of the served weights: fp32, fp16, bf16, fp8, int8 or int4.")
    artifact: str | None = Field(
        default=None, min_length=1,
        description="A checkpoint to size the model from, instead of parameters: a local .safetensors, .pt/.pth, "
                    "TorchScript or torch.export file or model folder (relative to this file), or an s3:// URI "
                    "that plan --refresh reads. Weights are never loaded.")
    architecture: Architecture | None = Field(
        default=None, description="Layers, heads and hidden size, when the artifact's config.json does not say them.")
    generation: Generation | None = Field(
        default=None, description="Serving hints of a generative model: sequence length, batch, KV-cache dtype.")

    _artifact_size: Any = PrivateAttr(default=None)
    """The artifact's size once read (see spec/model_facts.py); never part of the document."""

    @model_validator(mode="after")
    def _one_size(self) -> Model:
        if self.parameters is not None and self.artifact is not None:
            raise ValueError("give parameters (with dtype) or artifact, not both")
        if self.parameters is not None and self.dtype is None:
            raise ValueError("parameters needs a dtype (fp32, fp16, bf16, fp8, int8 or int4): bytes per "
                             "parameter decide the memory")
        if self.dtype is not None and self.parameters is None and self.artifact is None:
            raise ValueError("dtype sizes parameters or an artifact; give parameters (7B) or artifact as well")
        return self
