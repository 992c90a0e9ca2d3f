"""Container images the Kubernetes target runs, pinned, with what each is for.

Contract: every image the compiler writes into the graph comes from here (except the user's own
images: training jobs' ``image`` and models' ``serving_image``, which ``compile/kubernetes/serving.py``
runs as a KServe custom predictor), pinned to a version tag so a plan never changes because a tag
moved. Bumping one is a reviewed change: it shows in every plan as an update of the resources that run it.

- ``MLFLOW``: the official MLflow image (tracking server + model registry, and the Python client
  used by the registration jobs). It ships neither boto3 nor a PostgreSQL driver, which is why the
  registry is SQLite on a volume (dev-grade; see docs/compile-kubernetes.md).
- ``PYTHON``: the official slim Python image; runs mlops-infra's helper programs (training launcher,
  retrain trigger, capture sink). They use the standard library only, so no custom image is needed.
- ``EVIDENTLY``: the official Evidently service image; it carries evidently, pandas and pyarrow
  (with its S3 filesystem), which the drift job needs. Its entrypoint is overridden.
- ``PUSHGATEWAY``: the Prometheus Pushgateway, where batch monitor jobs publish their results.
"""

from __future__ import annotations

from mlops_infra.compile.drift_job import EVIDENTLY_IMAGE

MLFLOW = "ghcr.io/mlflow/mlflow:v3.14.0"
PYTHON = "docker.io/library/python:3.12.8-slim"
EVIDENTLY = EVIDENTLY_IMAGE
PUSHGATEWAY = "docker.io/prom/pushgateway:v1.11.2"
