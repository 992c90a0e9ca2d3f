"""Data sources: where training data lives and the contract it must meet.

``retention`` is a whole number of days, at least one (``400d``, ``720h``): both targets compile it to an S3
lifecycle rule whose ``Expiration.Days`` and ``NoncurrentVersionExpiration.NoncurrentDays`` are whole days
(botocore ``s3`` shape ``LifecycleExpiration.Days``: "Indicates the lifetime, in days, of the objects that are
subject to the rule. The value must be a non-zero positive integer."). A shorter or fractional duration (``12h``,
``90m``, ``36h``) is a validation error naming the line: flooring it to days would keep ``12h`` data forever (0
days: no rule) and expire ``36h`` data after one day.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from mlops_infra.spec.base import Name, SpecModel, empty_dict
from mlops_infra.spec.quantities import Duration, DurationField

SECONDS_PER_DAY = 86400

ColumnType = Literal["string", "int", "float", "bool", "timestamp", "date", "bytes", "json"]


class DataContract(SpecModel):
    """What a data source promises; checked before a training job reads it."""

    columns: dict[str, ColumnType] = Field(
        default_factory=empty_dict, description="Column name to type: string, int, float, bool, timestamp, date, bytes or json."
    )
    freshness: DurationField | None = Field(
        examples=["24h", "7d"],
        default=None,
        description="Newest data must be at most this old (24h). AWS: a scheduled or alert-triggered training run "
        "does not start on older data (its retrain gate checks); Kubernetes: recorded, not checked.",
    )


class DataSource(SpecModel):
    """A data store: an S3 bucket on AWS, an S3-compatible bucket on Kubernetes."""

    name: Name = Field(description="Unique name of the data source.")
    kind: Literal["object_store"] = Field(description="Kind of store; object_store is an S3(-compatible) bucket.")
    versioning: bool = Field(default=True, description="Keep object versions (default on).")
    encryption: Literal["kms", "s3"] = Field(
        default="kms", description="kms: SSE-KMS with a customer-managed rotating key; s3: SSE-S3."
    )
    retention: DurationField | None = Field(
        examples=["30d", "400d"],
        default=None, description=(
            "Objects expire after this long, for example 400d; on a versioned bucket their last version is "
            "deleted up to this long again later (S3 counts noncurrent days from when a version became noncurrent). "
            "A whole number of days, at least 1d (S3 lifecycle expires objects in whole days)."
        ),
    )
    contract: DataContract | None = Field(default=None, description="Schema and freshness the data must meet.")
    protect: bool = Field(default=True, description="Refuse to delete the store (Pulumi protect); default on.")

    @field_validator("retention")
    @classmethod
    def _whole_days(cls, retention: Duration | None) -> Duration | None:
        if retention is None or (retention.seconds % SECONDS_PER_DAY == 0):
            return retention  # parse_duration already refused zero and negative durations
        whole = -(-retention.seconds // SECONDS_PER_DAY)  # rounded up: never shorter than what was written
        raise ValueError(
            f"{retention} is not a whole number of days; S3 lifecycle expires objects in whole days "
            f"(Expiration.Days: a non-zero positive integer): write whole days, at least 1d; {whole}d keeps at "
            f"least {retention}"
        )
