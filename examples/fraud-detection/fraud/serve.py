"""Serve the fraud model: the SageMaker PyTorch handler functions, and ``python -m fraud.serve`` (the
``serve`` entry point of a container that is both the training and the serving image: /ping and
/invocations on 8080, the model at /opt/ml/model).

Request: ``{"instances": [{"amount": 12.5, "merchant_id": "m-1", "country": "DE"}, ...]}``;
response: ``{"predictions": [0.03, ...]}`` (probability of fraud).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from fraud.model import FraudModel, features


def model_fn(model_dir: str) -> FraudModel:
    model = FraudModel()
    model.load_state_dict(load_file(str(Path(model_dir) / "model.safetensors")))
    return model.eval()


def input_fn(body: bytes, content_type: str) -> list[dict]:
    if not content_type.startswith("application/json"):
        raise ValueError(f"unsupported content type {content_type}; send application/json")
    instances = json.loads(body).get("instances")
    if not isinstance(instances, list) or not instances:
        raise ValueError('send {"instances": [{"amount": ..., "merchant_id": ..., "country": ...}]}')
    return instances


def predict_fn(rows: list[dict], model: FraudModel) -> list[float]:
    with torch.no_grad():
        return torch.sigmoid(model(*features(rows))).tolist()


def output_fn(prediction: list[float], accept: str) -> bytes:
    return json.dumps({"predictions": prediction}).encode()


if __name__ == "__main__":
    from mlops_entry.serving import serve

    serve(sys.modules[__name__])
