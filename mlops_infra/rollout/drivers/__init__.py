"""Drivers: where a rollout's status lives and how its traffic moves, per target.

- :mod:`.kserve`: a KServe InferenceService (``canaryTrafficPercent``; status in a ConfigMap
  ``rollout-<endpoint>``, never the InferenceService's annotations, which KServe copies into the
  revision template;
  ``resourceVersion``-guarded patches through :mod:`mlops_infra.kube`);
- :mod:`.sagemaker`: a SageMaker endpoint (two production variants, UpdateEndpointWeightsAndCapacities,
  a single-variant finish with RetainAllVariantProperties; status in endpoint tags).
"""
