"""Drivers: where a rollout's status lives and how its traffic moves, per target.

- :mod:`.kserve`: a KServe InferenceService (``canaryTrafficPercent``; status in annotations;
  ``resourceVersion``-guarded patches through :mod:`mlops_infra.kube`);
- :mod:`.sagemaker`: a SageMaker endpoint (two production variants, UpdateEndpointWeightsAndCapacities,
  a single-variant finish with RetainAllVariantProperties; status in endpoint tags).
"""
