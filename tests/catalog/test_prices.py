"""The shipped price catalog: every price traced to a dated first-party source, per region and use,
never a stand-in; and the ``$MLOPS_INFRA_PRICES`` switch to a refreshed catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.errors import UserError

SNAPSHOT = catalog.DATA / "prices.json"
FIRST_PARTY = re.compile(r"^https://github\.com/(aws|aws-samples|awslabs)/[^/]+/blob/[0-9a-f]{40}/")


@pytest.fixture(autouse=True)
def shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(catalog.PRICES_ENV, raising=False)


def test_every_row_names_a_dated_first_party_source() -> None:
    data = json.loads(SNAPSHOT.read_text())
    assert data["format"] == catalog.PRICES_FORMAT
    for key, source in data["sources"].items():
        assert FIRST_PARTY.match(source["url"]), (key, source["url"])  # AWS-owned, pinned to a commit
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", source["as_of"]), key
    used = {row[5] for row in data["prices"]}
    assert used == set(data["sources"])
    for service, use, region, name, usd, _ in data["prices"]:
        assert (service, use) in {("ec2", "node"), ("sagemaker", "inference"), ("sagemaker", "training"),
                                  ("sagemaker", "processing")}
        assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region) and usd > 0
        assert name.startswith("ml.") == (service == "sagemaker"), name
    text = SNAPSHOT.read_text()
    assert not any(word in text for word in ("infracost", "tsaol", "vantage")), "third-party data in the catalog"


def test_regions_and_uses_are_kept_apart() -> None:
    prices = catalog.price_catalog()
    assert prices.regions("sagemaker", "inference") == {"us-east-1", "eu-west-1"}
    assert prices.regions("ec2", "node") == {"us-east-1"}
    # the eu-west-1 bill lines: hosting, training and processing of ml.m5.xlarge, each its own row
    assert {use: catalog.price("ml.m5.xlarge", use, "eu-west-1").usd_per_hour
            for use in ("inference", "training", "processing")} == {
        "inference": 0.257, "training": 0.257, "processing": 0.257}
    assert catalog.price("ml.m5.xlarge", "processing", "us-east-1") is None  # not borrowed from hosting
    assert catalog.price("ml.g5.xlarge", "inference", "eu-west-1") is None  # not borrowed from us-east-1
    assert catalog.ec2_price("c5.xlarge").usd_per_hour == 0.17  # "not counted" in the review, priced now
    assert catalog.ec2_price("c5.xlarge", "eu-west-1") is None
    price = catalog.price("g5.xlarge", "inference")  # with or without ml.
    assert (price.region, price.region_note, price.source_date) == ("us-east-1", "", "2025-01-26")


def test_hardware_facts_are_unchanged_for_the_gpu_shapes() -> None:
    assert catalog.gpus_of("ml.g5.12xlarge") == ("A10G", 4)
    assert catalog.hardware("g5.xlarge").vcpus == 4 and catalog.hardware("g5.xlarge").memory_gib == 16
    assert catalog.instance_for("A10G", 4, "training") == "ml.g5.12xlarge"


def refreshed(tmp_path: Path, rows: list[list]) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"format": catalog.PRICES_FORMAT, "built": "2026-12-03", "sources": {
        "api": {"url": "https://api.pricing.us-east-1.amazonaws.com (GetProducts)", "as_of": "2026-12-03",
                "title": "AWS Price List Query API"}}, "prices": rows}))
    return path


def test_the_environment_variable_selects_a_refreshed_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = refreshed(tmp_path, [["sagemaker", "inference", "eu-west-1", "ml.g5.xlarge", 1.58, "api"]])
    monkeypatch.setenv(catalog.PRICES_ENV, str(path))
    price = catalog.price("ml.g5.xlarge", "inference", "eu-west-1")
    assert (price.usd_per_hour, price.source_date) == (1.58, "2026-12-03")
    assert catalog.price("ml.g5.xlarge", "inference", "us-east-1") is None  # the file is the whole catalog


@pytest.mark.parametrize("content", ["{", '{"format": "other"}', None])
def test_an_unreadable_refreshed_catalog_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        content: str | None) -> None:
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv(catalog.PRICES_ENV, str(path))
    with pytest.raises(UserError, match="cannot read the price catalog") as err:
        catalog.price("ml.g5.xlarge")
    assert "MLOPS_INFRA_PRICES" in err.value.detail


@pytest.mark.parametrize(("document", "says"), [
    ({"format": catalog.PRICES_FORMAT, "sources": [], "prices": []}, '"sources" must be an object'),
    ({"format": catalog.PRICES_FORMAT, "sources": {"api": "x"}, "prices": []}, '"sources" must be an object'),
    ({"format": catalog.PRICES_FORMAT, "sources": {}, "prices": {}}, '"prices" must be an array'),
    ({"format": catalog.PRICES_FORMAT, "sources": {}}, '"prices" must be an array'),
])
def test_a_catalog_of_the_wrong_shape_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      document: dict, says: str) -> None:
    """A ``sources`` list was an AttributeError ("internal error") before (audit robust, "also seen")."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document))
    monkeypatch.setenv(catalog.PRICES_ENV, str(path))
    with pytest.raises(UserError, match="cannot read the price catalog") as err:
        catalog.price("ml.g5.xlarge")
    assert says in err.value.summary


@pytest.mark.parametrize("row", [
    ["sagemaker", "inference", "eu-west-1", "ml.g5.xlarge", 1e308, "api"],
    ["sagemaker", "inference", "eu-west-1", "ml.g5.xlarge", True, "api"],
    ["sagemaker", "inference", "eu-west-1", "ml.g5.xlarge", 1.58],
    "sagemaker,inference,eu-west-1,ml.g5.xlarge,1.58,api",
])
def test_a_row_that_is_not_a_price_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   row: object) -> None:
    """1e308 was read and shown as ``$inf`` (sums overflow, differences are ``nan``); a short row was a
    ValueError from unpacking that named no field."""
    monkeypatch.setenv(catalog.PRICES_ENV, str(refreshed(tmp_path, [row])))
    with pytest.raises(UserError, match="bad price row") as err:
        catalog.price("ml.g5.xlarge")
    assert "MLOPS_INFRA_PRICES" in err.value.detail


def test_the_shipped_catalog_is_within_the_row_rules() -> None:
    assert 0 < max(usd for usd, _ in catalog.price_catalog().prices.values()) <= catalog.MAX_USD_PER_HOUR
