"""The model registry: versioned models with an approval workflow."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlops_infra.spec.base import Name, SpecModel

Framework = Literal["pytorch", "tensorflow", "sklearn", "xgboost", "huggingface", "onnx", "custom"]


class Model(SpecModel):
    """A registered model: a group of versions with an approval mode."""

    name: Name = Field(description="Unique name of the model.")
    framework: Framework = Field(description="pytorch, tensorflow, sklearn, xgboost, huggingface, onnx or custom.")
    approval: Literal["manual", "automatic"] = Field(
        default="manual", description="manual: a person approves each version; automatic: approved on registration."
    )
    description: str | None = Field(default=None, description="What the model does.")
