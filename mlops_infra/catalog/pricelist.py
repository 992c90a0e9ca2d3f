"""The AWS Price List Query API, read into the price catalog: which products to ask for, how to read
the answer, and the catalog document a refresh writes.

Pure: no network and no boto3 here (the client calls live in :mod:`mlops_infra.catalog.refresh_prices`).

How the Price List answers (cited):
- ``GetProducts`` (botocore service model ``pricing`` 2017-10-15, JSON 1.1 protocol, target prefix
  ``AWSPriceListService``; https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html)
  takes a ``ServiceCode`` and ``Filters`` (``{"Type": "TERM_MATCH", "Field", "Value"}``) and
  returns ``PriceList``, a list of ``PriceListJsonItem``: each a JSON *string* (shape
  ``SynthesizedJsonPriceListJsonItem``, trait ``jsonvalue``), with ``NextToken`` for the next page.
- Each item is one product: ``product.attributes`` (``instanceType``/``instanceName``,
  ``regionCode``, for SageMaker ``component``) and ``terms.OnDemand`` -> ``{term: {priceDimensions:
  {rate: {unit: "Hrs", pricePerUnit: {"USD": "0.0960000000"}}}}}``; ``terms.Reserved`` is ignored
  (https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/reading-an-offer.html).
- EC2 on-demand Linux prices are the products with ``operatingSystem`` Linux, ``tenancy`` Shared,
  ``preInstalledSw`` NA, ``capacitystatus`` Used, ``marketoption`` OnDemand and ``productFamily`` Compute
  Instance: the filters aws/karpenter-provider-aws uses for its standard on-demand prices
  (pkg/providers/pricing/pricing.go @ 09303f32, ``fetchOnDemandPricing``'s filters plus
  ``UpdateOnDemandPricing``'s tenancy Shared and productFamily Compute Instance). ``marketoption`` keeps
  out the EC2 Capacity Block products of the same instance type, which share every other attribute
  (audit pricing45-4: without it a Capacity Block rate beside the on-demand one made the type "several
  different prices, left out"). Karpenter's second query, bare-metal types (``Compute Instance (bare
  metal)``, tenancy Dedicated), is not asked: no node shape here is a ``.metal`` type.
- SageMaker instance prices are ``productFamily`` "ML Instance" products, one per ``component``:
  ``Hosting`` (real-time inference), ``Training`` and ``Processing``; ``instanceName`` holds the
  ``ml.`` type (the AWS bill says "per Hosting ml.m5.xlarge hour", "per Processing ...").

Spot prices are not in the Price List (they move with supply and demand; EC2 publishes them through
``DescribeSpotPriceHistory``): a refresh writes on-demand prices only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.catalog import PRICES_FORMAT

PRICE_LIST_ENDPOINT_REGION = "us-east-1"
"""The Price List Query API answers in us-east-1 (also eu-central-1, ap-south-1); prices for every
region come from any of them (https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-price-list-query-api.html)."""

COMPONENTS = {"inference": "Hosting", "training": "Training", "processing": "Processing"}
"""Catalog use -> the SageMaker Price List ``component`` attribute."""


@dataclass(frozen=True)
class Query:
    """One GetProducts question: ``service`` and ``use`` in catalog terms, and its request."""

    service: str
    use: str
    region: str
    service_code: str
    filters: tuple[tuple[str, str], ...]

    def request(self) -> dict[str, Any]:
        """The GetProducts parameters (without NextToken)."""
        return {"ServiceCode": self.service_code, "FormatVersion": "aws_v1", "MaxResults": 100,
                "Filters": [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in self.filters]}


def queries(region: str) -> list[Query]:
    """What a refresh of ``region`` asks: SageMaker hosting, training and processing, EC2 nodes."""
    out = [Query("sagemaker", use, region, "AmazonSageMaker",
                 (("regionCode", region), ("productFamily", "ML Instance"), ("component", component)))
           for use, component in COMPONENTS.items()]
    out.append(Query("ec2", "node", region, "AmazonEC2",
                     (("regionCode", region), ("operatingSystem", "Linux"), ("tenancy", "Shared"),
                      ("preInstalledSw", "NA"), ("capacitystatus", "Used"), ("marketoption", "OnDemand"),
                      ("productFamily", "Compute Instance"))))
    return out


@dataclass
class Harvest:
    """Prices read from GetProducts pages: ``rows`` keyed by (service, use, region, instance) with
    (USD per hour, sku, publication date), and ``skipped`` (what was left out, and why)."""

    rows: dict[tuple[str, str, str, str], tuple[float, str, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    conflicts: set[tuple[str, str, str, str]] = field(default_factory=set)

    def add_page(self, query: Query, price_list: Iterable[str | Mapping[str, Any]]) -> None:
        """Read one page of ``PriceList`` items answering ``query``."""
        for item in price_list:
            product = json.loads(item) if isinstance(item, str) else item
            self._add(query, product)

    def _add(self, query: Query, item: Mapping[str, Any]) -> None:
        attributes = (item.get("product") or {}).get("attributes") or {}
        name = attributes.get("instanceName") if query.service == "sagemaker" else attributes.get("instanceType")
        if not isinstance(name, str) or not name:
            return
        if query.service == "sagemaker" and not name.startswith("ml."):
            return
        if attributes.get("regionCode", query.region) != query.region:
            return
        hourly = on_demand_hourly_usd(item)
        key = (query.service, query.use, query.region, name)
        if hourly is None:
            self.skipped.append(f"{query.region} {name} ({query.service} {query.use}): no hourly on-demand USD price")
            return
        sku = str((item.get("product") or {}).get("sku") or "")
        found = self.rows.get(key)
        if found is not None and found[0] != hourly:
            self.conflicts.add(key)
        elif key not in self.conflicts:
            self.rows[key] = (hourly, sku, str(item.get("publicationDate") or "")[:10])

    def prices(self) -> dict[tuple[str, str, str, str], tuple[float, str, str]]:
        """The rows with one price each; an instance the Price List gives two different prices for
        (under these filters) is left out and named in :attr:`skipped`: never guess which one."""
        for key in sorted(self.conflicts):
            self.skipped.append(f"{key[2]} {key[3]} ({key[0]} {key[1]}): several different prices, left out")
            self.rows.pop(key, None)
        self.conflicts.clear()
        return dict(self.rows)


def on_demand_hourly_usd(item: Mapping[str, Any]) -> float | None:
    """The hourly USD price of an item's on-demand term, or None when it has none or a zero price
    (a free tier or a placeholder, not a rate)."""
    terms = ((item.get("terms") or {}).get("OnDemand") or {}).values()
    found: set[float] = set()
    for term in terms:
        for dimension in (term.get("priceDimensions") or {}).values():
            if dimension.get("unit") not in ("Hrs", "Hours", "hours"):
                continue
            try:
                usd = float((dimension.get("pricePerUnit") or {}).get("USD"))
            except (TypeError, ValueError):
                continue
            if usd > 0:
                found.add(usd)
    return found.pop() if len(found) == 1 else None


def merge_catalog(base: Mapping[str, Any], harvested: Mapping[tuple[str, str, str, str], tuple[float, str, str]],
                  refreshed: Iterable[tuple[str, str, str]], *, endpoint: str, today: str) -> dict[str, Any]:
    """A catalog document: ``base`` (a catalog document) with every (service, use, region) in
    ``refreshed`` replaced by the harvested prices. Each refreshed (service, use, region) gets one
    source naming the API call and the date; rows name their sku in the source title."""
    replaced = set(refreshed)
    rows = [row for row in base.get("prices", []) if (row[0], row[1], row[2]) not in replaced]
    sources = dict(base.get("sources", {}))
    for service, use, region in sorted(replaced):
        key = f"price-list-api-{service}-{use}-{region}-{today}"
        code = "AmazonSageMaker" if service == "sagemaker" else "AmazonEC2"
        what = f"component {COMPONENTS[use]}" if service == "sagemaker" else "Linux, shared tenancy, on-demand"
        sources[key] = {"url": f"{endpoint} GetProducts ServiceCode={code} regionCode={region}", "as_of": today,
                        "title": f"AWS Price List Query API, {code} {what}, {region}, read {today}"}
        for (svc, u, reg, name), (usd, _sku, _published) in sorted(harvested.items()):
            if (svc, u, reg) == (service, use, region):
                rows.append([svc, u, reg, name, usd, key])
    used = {row[5] for row in rows}
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    return {"format": PRICES_FORMAT, "built": today,
            "description": base.get("description", "Hourly on-demand USD prices, each row naming its source."),
            "columns": ["service", "use", "region", "instance_type", "usd_per_hour", "source"],
            "sources": {k: v for k, v in sorted(sources.items()) if k in used}, "prices": rows}


def dumps_catalog(document: Mapping[str, Any]) -> str:
    """The catalog as JSON text, one price row per line (readable diffs when committed)."""
    head = json.dumps({k: v for k, v in document.items() if k != "prices"}, indent=1)
    rows = ",\n".join(json.dumps(row) for row in document["prices"])
    return f'{head[:-2]},\n "prices": [\n{rows}\n ]\n}}\n'
