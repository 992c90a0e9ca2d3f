"""``mlops-infra catalog refresh``: read current on-demand prices from the AWS Price List Query API
and write a price catalog atomically.

Contract of :func:`refresh_prices`:
- For each region it asks GetProducts (:func:`mlops_infra.catalog.pricelist.queries`): SageMaker
  Hosting, Training and Processing instance prices and EC2 Linux on-demand node prices, every page
  (``NextToken``), through boto3's ``pricing`` client in :data:`~mlops_infra.catalog.pricelist.PRICE_LIST_ENDPOINT_REGION`.
  The endpoint follows botocore's configuration (``AWS_ENDPOINT_URL_PRICING`` / ``AWS_ENDPOINT_URL``).
- The written catalog is the catalog in use (``$MLOPS_INFRA_PRICES`` or the shipped snapshot)
  with every refreshed (service, use, region) replaced by what the API returned: rows for other
  regions keep their sources. Nothing is written when any call fails (no half-refreshed file), and
  the file is replaced atomically (:func:`mlops_infra.fileio.write_text_atomic`).
- A region of the ``aws-cn`` partition is refused before any call: its prices are not available from this
  tool (:func:`mlops_infra.catalog.unpriceable`, audit xregion-2).
- A region for which the API has no product at all is an error (a mistyped region code, or a
  partition the endpoint does not serve); a use with no product (a region without SageMaker
  Processing, say) is a note in the report.
- Missing credentials and access denied are :class:`~mlops_infra.errors.UserError`\\ s that say which
  permission is needed (``pricing:GetProducts``); calls retry throttling in botocore's standard mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_infra import catalog
from mlops_infra.catalog.pricelist import (
    PRICE_LIST_ENDPOINT_REGION,
    Harvest,
    dumps_catalog,
    merge_catalog,
    queries,
)
from mlops_infra.errors import UserError
from mlops_infra.fileio import write_text_atomic

PERMISSION = "pricing:GetProducts"
MAX_PAGES = 500
"""Bound on GetProducts pages per query (a region's EC2 Linux products take about 10 pages of 100)."""


@dataclass
class RefreshReport:
    """What a refresh did: prices written per (service, use, region), notes, the file written."""

    path: Path
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def pricing_client() -> Any:
    """boto3's ``pricing`` client in the Price List's region, standard retries, bounded timeouts."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60)
    # a new session each time: boto3's default session keeps the first credentials it resolved
    return boto3.session.Session().client("pricing", region_name=PRICE_LIST_ENDPOINT_REGION, config=config)


def refresh_prices(regions: list[str], out: Path, *, client: Any = None, today: str | None = None) -> RefreshReport:
    """Refresh ``regions`` into the catalog file ``out`` (see the module contract). A region no price can be had
    for (:func:`mlops_infra.catalog.unpriceable`: the aws-cn partition) is refused first, before any call."""
    for region in regions:
        if why := catalog.unpriceable(region):
            raise UserError(f"cannot refresh {region}: {why}",
                            f"Leave {region} out of --regions; budgets and costs of an environment there stay "
                            "unchecked (validate and plan say so). Nothing was asked or written.")
    if client is None:
        from botocore.exceptions import BotoCoreError

        try:
            client = pricing_client()
        except BotoCoreError as exc:
            raise UserError(f"cannot set up the AWS Price List client: {exc}",
                            "Check the AWS configuration (AWS_PROFILE, ~/.aws/config). Nothing was written.") from None
    today = today or datetime.now(UTC).strftime("%Y-%m-%d")
    harvest = Harvest()
    report = RefreshReport(out)
    for region in regions:
        found_any = False
        for query in queries(region):
            count = _read_all(client, query, harvest)
            found_any = found_any or count > 0
            if count == 0:
                report.notes.append(f"{region}: the Price List has no {query.service} {query.use} products")
        if not found_any:
            raise UserError(f"the AWS Price List has no prices for region {region!r}",
                            "Check the region code (for example eu-west-1). Nothing was written.")
    prices = harvest.prices()
    report.notes += harvest.skipped
    base = json.loads(catalog.prices_path().read_text(encoding="utf-8"))
    refreshed = {(q.service, q.use, q.region) for region in regions for q in queries(region)}
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "") or "AWS Price List Query API"
    document = merge_catalog(base, prices, refreshed, endpoint=endpoint, today=today)
    write_text_atomic(out, dumps_catalog(document))
    for service, use, region, _ in prices:
        report.counts[(service, use, region)] = report.counts.get((service, use, region), 0) + 1
    return report


def _read_all(client: Any, query: Any, harvest: Harvest) -> int:
    """Read every page of one query into ``harvest``; the number of products read."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    request, token, count = query.request(), None, 0
    for _ in range(MAX_PAGES):
        try:
            page = client.get_products(**request, **({"NextToken": token} if token else {}))
        except (NoCredentialsError, PartialCredentialsError):
            raise UserError("no AWS credentials: refreshing prices reads the AWS Price List Query API",
                            f"Configure credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or SSO) "
                            f"for an identity allowed {PERMISSION}. The shipped snapshot stays in use meanwhile.") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
                raise UserError(f"the AWS Price List refused the request ({code})",
                                f"Allow {PERMISSION} to the identity in use. Nothing was written.") from None
            raise UserError(f"the AWS Price List request failed: {code or exc}", "Nothing was written.") from None
        except BotoCoreError as exc:
            raise UserError(f"could not read the AWS Price List: {exc}",
                            "Check the network and the endpoint (AWS_ENDPOINT_URL_PRICING). Nothing was written.") from None
        items = page.get("PriceList") or []
        harvest.add_page(query, items)
        count += len(items)
        token = page.get("NextToken")
        if not token:
            return count
    raise UserError(f"the AWS Price List kept paging past {MAX_PAGES} pages for {query.service_code} in "
                    f"{query.region}", "Nothing was written.")
