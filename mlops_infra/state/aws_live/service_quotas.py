"""The account's SageMaker quotas, read live with ``plan --refresh`` (Service Quotas).

Contract: :func:`sagemaker_quotas` returns quota name -> value for service code ``sagemaker`` in
``region``: AWS's default values (``ListAWSDefaultServiceQuotas``) overlaid with the account's
applied values (``ListServiceQuotas``: "Lists the applied quota values for the specified Amazon Web
Services service. For some quotas, only the default values are available. If the applied quota value
is not available for a quota, the quota is not retrieved", botocore ``service-quotas``), every page
of both (``MaxResults`` 100, the most botocore allows). Through ``endpoint_url`` when given (tests:
the moto server, tests/support/moto_server.py patch 13), with short timeouts and two retries: a
slow or refused read raises (``botocore.exceptions.BotoCoreError`` or ``ClientError``) and the caller
says the check was not made. Needs ``servicequotas:ListServiceQuotas`` and
``servicequotas:ListAWSDefaultServiceQuotas`` (resource ``*``).
"""

from __future__ import annotations

from typing import Any

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10
PAGE = 100


def sagemaker_quotas(region: str, *, endpoint_url: str | None = None, session: Any = None) -> dict[str, float]:
    """Quota name -> value of the account's SageMaker quotas in ``region`` (module contract)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT)
    client = (session or boto3.Session()).client("service-quotas", region_name=region, endpoint_url=endpoint_url,
                                                 config=config)
    values: dict[str, float] = {}
    for operation in ("list_aws_default_service_quotas", "list_service_quotas"):  # applied values last: they win
        for page in client.get_paginator(operation).paginate(ServiceCode="sagemaker",
                                                             PaginationConfig={"PageSize": PAGE}):
            for quota in page.get("Quotas") or []:
                if quota.get("QuotaName") and quota.get("Value") is not None:
                    values[quota["QuotaName"]] = float(quota["Value"])
    return values
