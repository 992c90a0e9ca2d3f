"""The base of every spec model: strict, frozen, documented; plus names and secret references."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlops_infra.spec.limits import INT32_MAX

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
"""Item names: lowercase DNS labels (they become bucket, endpoint and Kubernetes names)."""

Name = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        min_length=1,
        max_length=63,
        description="A lowercase name: letters, digits and '-', at most 63 characters, no leading or trailing '-'.",
    ),
]


def empty_list() -> list:
    """``[]``: the ``default_factory`` of a list field, in place of ``list``.

    pydantic asks each default factory whether it takes the validated data
    (``pydantic/_internal/_fields.py``, ``takes_validated_data_argument``, through ``inspect.signature``);
    for a builtin type such as ``list`` CPython parses its text signature with :mod:`tokenize`
    (``inspect.py``, ``_signature_fromstr``), compiling tokenize's pattern first, every process that
    builds the models. A Python function's signature is read from its code object. The value is the same.
    """
    return []


def empty_dict() -> dict:
    """``{}``: the ``default_factory`` of a dict field, in place of ``dict`` (see :func:`empty_list`)."""
    return {}


class SpecModel(BaseModel):
    """Base for every spec model: unknown fields are errors, values are immutable and strict.

    No float field anywhere accepts NaN or infinity (``allow_inf_nan=False``): no target can take
    them, and JSON cannot even write them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=False,
                              use_attribute_docstrings=False, allow_inf_nan=False, defer_build=True)


SECRET_KEY_MAX = 253
# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_SECRET_KEY = r"[-._a-zA-Z0-9]+"
SECRET_KEY_SCHEMA_PATTERN = r"^\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$"
"""What the schema publishes of :meth:`SecretRef._key_is_a_secret_key` (with minLength 1 and maxLength 253):
the characters of ``_SECRET_KEY``, not ``.`` or ``..`` nor starting with ``..`` (audit schemas-8). The model
keeps its own check for its messages; tests/spec/test_schema.py holds the two to the same answers."""


class SecretRef(SpecModel):
    """A reference to a secret by name: ``{secret: slack-oncall-webhook}``.

    The value lives in the target's secret store (AWS Secrets Manager on AWS, a Kubernetes Secret on
    Kubernetes) and never appears in the document, a plan or a log.
    """

    secret: Name = Field(description="Name of the secret in the environment's secret store.")
    key: Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": SECRET_KEY_MAX,
                                                 "pattern": SECRET_KEY_SCHEMA_PATTERN})] | None = Field(
        default=None,
        description="Key inside the secret when it holds several values (Kubernetes Secret key; defaults to 'value').",
    )

    @field_validator("key")
    @classmethod
    def _key_is_a_secret_key(cls, key: str | None) -> str | None:
        """The key names a Kubernetes Secret data key (the strictest target; on AWS it is a key of the
        secret's JSON): apimachinery ``pkg/util/validation`` ``IsConfigMapKey``, which Secrets use
        too: ``[-._a-zA-Z0-9]+``, at most 253 characters, not ``.`` or ``..`` nor starting with ``..``
        (https://kubernetes.io/docs/concepts/configuration/secret/#restriction-names-data). The
        message never quotes the key."""
        if key is None:
            return key
        problem = ("is empty" if not key else f"is {len(key)} characters, over 253" if len(key) > SECRET_KEY_MAX
                   else "may hold only letters, digits, '-', '_' and '.'" if not re.fullmatch(_SECRET_KEY, key)
                   else "may not be '.' or '..' nor start with '..'" if key in (".", "..") or key.startswith("..")
                   else "")
        if problem:
            raise ValueError(f"a secret key {problem}: it names a key of a Kubernetes Secret (and of the JSON "
                             "of an AWS secret); use a name such as value, webhook-url or routing_key")
        return key

    @model_validator(mode="before")
    @classmethod
    def _reject_plaintext(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "plaintext secret: this field holds a secret and must be a reference such as "
                "{secret: my-secret-name}; store the value in your secret store and never in the document"
            )
        return value


class Accelerator(SpecModel):
    """A cloud-neutral GPU request: the type and how many per node or replica."""

    type: str = Field(description="GPU model: T4, A10G, L4, V100, A100, A100-80GB, H100 or L40S.")
    count: int = Field(ge=1, le=16, description="GPUs per node (training) or per replica (serving).")


class Range(SpecModel):
    """An inclusive min..max count."""

    min: int = Field(ge=0, le=INT32_MAX, description="Smallest count.")
    max: int = Field(ge=1, le=INT32_MAX, description="Largest count; at least min.")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max}); set min <= max")
        return self
