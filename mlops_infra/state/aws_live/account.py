"""Account-level settings the plan checks before apply (read live, with ``--refresh``).

Contract: :func:`lambda_concurrency` returns the region's Lambda ``AccountLimit`` as
``(ConcurrentExecutions, UnreservedConcurrentExecutions)`` from ``GetAccountSettings`` (botocore
``lambda`` ``GetAccountSettingsResponse.AccountLimit``), through ``endpoint_url`` when given (tests
point it at the moto server, tests/support/moto_server.py patch 11), with short timeouts and two
retries: a slow or refused read raises (``botocore.exceptions.BotoCoreError`` or ``ClientError``) and
the caller says the check was not made. Needs ``lambda:GetAccountSettings`` (resource ``*``).
"""

from __future__ import annotations

from typing import Any

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10


def lambda_concurrency(region: str, *, endpoint_url: str | None = None, session: Any = None) -> tuple[int, int]:
    """``(ConcurrentExecutions, UnreservedConcurrentExecutions)`` of the account in ``region``."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT)
    client = (session or boto3.Session()).client("lambda", region_name=region, endpoint_url=endpoint_url,
                                                 config=config)
    limit = client.get_account_settings()["AccountLimit"]
    return int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"])
