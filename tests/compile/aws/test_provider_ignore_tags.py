"""The AWS provider ignores the rollout controller's tags (lead finding, 2026-12-04).

The provider reads all of a resource's tags on refresh, so without ``ignoreTags`` the controller's
tags on an endpoint enter the state and the next update of the endpoint's tags deletes them,
mid-rollout included. Every AWS environment's provider carries it, with exactly the names the
driver writes (taken from ``mlops_infra/endpoint_tags.py``, not spelled twice), in the shape
pulumi-aws takes (``ProviderIgnoreTagsArgs``: ``keyPrefixes``, ``keys``).
"""

from __future__ import annotations

import pytest

from mlops_infra.compile.aws.provider import ignore_tags
from mlops_infra.endpoint_tags import KEPT_TAG_PREFIX, ROLLOUT_TAG_PREFIX, SCALING_TAG
from tests.compile.aws.cases import CASES, compiled, of_type
from tests.compile.aws.pulumi_schema import check_inputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PROVIDER = "pulumi:providers:aws"


@pytest.mark.parametrize(("path", "env"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_aws_provider_ignores_the_controllers_tags(path, env) -> None:
    [provider] = of_type(compiled(path, env), PROVIDER)
    assert provider.inputs["ignoreTags"] == {"keyPrefixes": [ROLLOUT_TAG_PREFIX, KEPT_TAG_PREFIX],
                                             "keys": [SCALING_TAG]}
    assert not check_inputs(PROVIDER, provider.inputs)


def test_the_names_are_the_drivers_own() -> None:
    from mlops_infra.rollout.drivers import sagemaker

    assert sagemaker.TAG_PREFIX is ROLLOUT_TAG_PREFIX and sagemaker.KEPT_PREFIX is KEPT_TAG_PREFIX
    assert sagemaker.SCALING_TAG is SCALING_TAG


def test_the_shape_is_pulumi_aws_provider_ignore_tags() -> None:
    """``ProviderIgnoreTagsArgs(key_prefixes=..., keys=...)`` serialises (``pulumi.runtime.to_json``, as
    ``Provider`` does with it) to exactly the compiled input."""
    import json

    import pulumi.runtime
    import pulumi_aws

    typed = pulumi_aws.ProviderIgnoreTagsArgs(key_prefixes=[ROLLOUT_TAG_PREFIX, KEPT_TAG_PREFIX], keys=[SCALING_TAG])
    assert json.loads(pulumi.runtime.to_json(typed)) == ignore_tags()
    # the schema check above knows the provider's names, nested ones included
    assert check_inputs(PROVIDER, {"ignoreTags": {"keyPrefix": ["x"]}})
    assert check_inputs(PROVIDER, {"ignoreTag": {"keys": ["x"]}})
