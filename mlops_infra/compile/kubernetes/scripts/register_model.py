"""mlops-infra model registration: makes a registered model exist in MLflow with its declared tags.

Runs in the MLflow image. Idempotent: creates the registered model ``MODEL_NAME`` unless it exists
and sets the tags ``mlops-infra.framework`` and ``mlops-infra.approval`` (manual | automatic). The
spec's ``description`` (``MODEL_DESCRIPTION``) is given at creation and, when the model exists, set
with ``update_registered_model`` (REST ``PATCH /api/2.0/mlflow/registered-models/update``, which
changes it in place: ``MlflowClient.update_registered_model``), so a description edit, which
compiles a new Job, changes MLflow's (registry-5). A spec without a description leaves MLflow's as
it is (one written in the MLflow UI is kept).
MLflow has no approval state of its own: a version is approved when its tag
``mlops-infra.approval-status`` is ``approved`` (set by a person for manual models, by the
registering run for automatic ones). Retries while the tracking server is starting.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> int:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    name = os.environ["MODEL_NAME"]
    description = os.environ.get("MODEL_DESCRIPTION") or None
    for attempt in range(30):
        try:
            try:
                client.create_registered_model(name, description=description)
                print(f"created registered model {name}", flush=True)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                if description is not None:
                    client.update_registered_model(name, description=description)
            client.set_registered_model_tag(name, "mlops-infra.framework", os.environ["MODEL_FRAMEWORK"])
            client.set_registered_model_tag(name, "mlops-infra.approval", os.environ["MODEL_APPROVAL"])
            return 0
        except Exception as exc:  # the server may still be starting
            print(f"attempt {attempt + 1}: {exc}", flush=True)
            time.sleep(10)
    return 1


if __name__ == "__main__":
    sys.exit(main())
