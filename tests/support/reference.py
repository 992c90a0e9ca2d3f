"""What validate says about the reference document as written (tests compare against this, exactly).

The reference's training image is in ECR in us-east-1 and its prod environment is eu-west-1.
SageMaker does not pull ECR images across regions (botocore ``ContainerDefinition.Image``; domain
review finding B3), and the reference cannot change, so validating it warns twice for prod: the
training job's image and the model's serving image (the same image, reused to serve). Its cluster
gpu-train (ml.g5.12xlarge) has a budget the shipped price catalog cannot check in staging
(us-east-1) or prod (eu-west-1): no Training price there, so it warns ``budget-unchecked`` for each.
Its image is in account 123456789012's ECR while staging and prod run in 111111111111 and 222222222222: each
warns ``image-in-other-account`` once (the repository's policy there must let the training and serving roles
pull; audit iam-6), at the image, addressed to the training job (its first puller). Its training command
``python -m fraud.train`` starts one process per node of 4 GPUs, so it warns ``one-process-per-node``
(``spec/processes.py``; audit k8strain-1).
"""

from __future__ import annotations

REFERENCE_WARNINGS = [
    ("budget-unchecked", "warning", "clusters.gpu-train"),  # prod: no eu-west-1 Training price for ml.g5.12xlarge
    ("budget-unchecked", "warning", "clusters.gpu-train"),  # staging: none in us-east-1 either
    ("image-in-other-region", "warning", "models.fraud-model"),
    ("image-in-other-account", "warning", "training_jobs.retrain"),  # prod: account 222222222222
    ("image-in-other-account", "warning", "training_jobs.retrain"),  # staging: account 111111111111
    ("image-in-other-region", "warning", "training_jobs.retrain"),
    ("one-process-per-node", "warning", "training_jobs.retrain"),  # python -m fraud.train on 4 x A10G nodes
]
"""(code, severity, address) of every diagnostic of the reference, in output order."""


def reference_findings(diagnostics) -> list[tuple[str, str, str]]:
    return [(d.code, str(d.severity), d.address) for d in diagnostics]


def without_reference_warnings(diagnostics) -> list:
    """``diagnostics`` less the reference's own image warnings (see the module docstring)."""
    return [d for d in diagnostics if (d.code, str(d.severity), d.address) not in REFERENCE_WARNINGS]
