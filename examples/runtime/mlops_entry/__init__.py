"""The container contract of mlops-infra's compiled training jobs and endpoints (see README.md)."""

from mlops_entry.contract import Contract

__all__ = ["Contract"]
