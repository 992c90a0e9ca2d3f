"""The drift contract object (an S3 object that opts out of the provider's default tags) is given only the tags
S3 keeps: terraform-provider-aws drops from the upload every tag equal to a default tag
(internal/service/s3/object.go ``resourceObjectUpload``: ``tags.RemoveDefaultConfig(defaultTagsConfig)``;
hashicorp/terraform-provider-aws#45506), while planning ``tags_all`` = ``tags``, so such tags made every
``pulumi preview`` update it (audit typesets44-2)."""

from __future__ import annotations

from mlops_infra.compile import compile_system
from mlops_infra.spec import parse_system
from tests.support.shared_files import REFERENCE

OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def test_no_tag_of_the_contract_object_equals_a_default_tag():
    system = parse_system(REFERENCE.read_text(), "mlsystem.yaml", "prod").system
    graph = compile_system(system, "prod")
    providers = [r for r in graph.resources if r.type == "pulumi:providers:aws"]
    objects = [r for r in graph.resources if r.type == OBJECT]
    assert objects and providers
    for obj in objects:
        provider = next(p for p in providers if obj.provider and obj.provider.startswith(p.urn))
        defaults = provider.inputs["defaultTags"]["tags"]
        assert obj.inputs["overrideProvider"] == {"defaultTags": {"tags": {}}}
        assert obj.inputs["tags"], obj.name
        assert not {k for k, v in obj.inputs["tags"].items() if defaults.get(k) == v}, obj.inputs["tags"]
        assert obj.inputs["tags"] == {"mlops-infra/item": "monitors." + obj.name.removesuffix("-drift-contract")}
