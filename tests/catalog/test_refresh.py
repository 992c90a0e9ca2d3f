"""``mlops-infra catalog refresh`` against the Price List stand-in on 127.0.0.1: the console script in a
temporary directory, what it asks, what it writes, and its errors (nothing half-written)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mlops_infra import catalog
from tests.cli.test_honest_plans import RECSYS, applied_state_file
from tests.support.cli import CliResult, run_cli, run_cli_subprocess
from tests.support.price_list_server import PriceListServer, recorded_products


def aws_env(server: PriceListServer, **extra: str) -> dict[str, str]:
    """Credentials that only the stand-in sees; no instance metadata lookups off loopback."""
    return {"AWS_ENDPOINT_URL_PRICING": server.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "MLOPS_INFRA_PRICES": "", **extra}


def in_process(monkeypatch: pytest.MonkeyPatch, server: PriceListServer, *args: str, **env: str) -> CliResult:
    """``mlops-infra ARGS`` through the real entry point in this process, with ``aws_env``."""
    for key, value in aws_env(server, **env).items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    return run_cli(*args)


def current(products: list[dict]) -> list[dict]:
    """``products`` as the Price List serves them now: every EC2 product carries ``marketoption`` (OnDemand here),
    which the refresh filters on as Karpenter does (``fetchOnDemandPricing``, whose refresh fails on zero
    results); the recorded m5.large document (2021) predates the attribute, which separates the EC2 Capacity
    Block products of a type (audit pricing45-4)."""
    out = copy.deepcopy(products)
    for product in out:
        if product.get("serviceCode") == "AmazonEC2":
            product["product"]["attributes"].setdefault("marketoption", "OnDemand")
    return out


@pytest.fixture
def server():
    with PriceListServer(current(recorded_products())) as running:
        yield running


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rows(path: Path) -> dict[tuple[str, str, str, str], tuple[float, dict]]:
    data = json.loads(path.read_text())
    return {tuple(r[:4]): (r[4], data["sources"][r[5]]) for r in data["prices"]}


def test_refresh_writes_each_region_and_use_from_the_price_list(server: PriceListServer, tmp_path: Path) -> None:
    result = run_cli_subprocess("catalog", "refresh", "--regions", "eu-west-1,us-east-1", "--out", "prices.json",
                                env=aws_env(server))
    assert result.code == 0, result.stderr
    assert "wrote prices.json (8 prices for eu-west-1, us-east-1); plans use it with MLOPS_INFRA_PRICES=" in result.stdout
    written = rows(tmp_path / "prices.json")
    assert {key: usd for key, (usd, _) in written.items() if key[2] == "eu-west-1"} == {
        ("sagemaker", "inference", "eu-west-1", "ml.m5.xlarge"): 0.257,
        ("sagemaker", "inference", "eu-west-1", "ml.g5.12xlarge"): 7.91,
        ("sagemaker", "inference", "eu-west-1", "ml.g4dn.xlarge"): 0.821,
        ("sagemaker", "training", "eu-west-1", "ml.g5.xlarge"): 1.57,
        ("sagemaker", "training", "eu-west-1", "ml.m5.xlarge"): 0.257,
        ("sagemaker", "training", "eu-west-1", "ml.p3.2xlarge"): 4.131,
        ("sagemaker", "processing", "eu-west-1", "ml.m5.xlarge"): 0.257}  # the Notebook product is left out
    # us-east-1 EC2 is what the Price List returned (the recorded m5.large document), not the snapshot's
    assert {key: usd for key, (usd, _) in written.items() if key[:3] == ("ec2", "node", "us-east-1")} == {
        ("ec2", "node", "us-east-1", "m5.large"): 0.096}
    source = written[("ec2", "node", "us-east-1", "m5.large")][1]
    assert source["url"] == f"{server.url} GetProducts ServiceCode=AmazonEC2 regionCode=us-east-1"
    assert "note: eu-west-1: the Price List has no ec2 node products" in result.stderr
    # every request was a signed GetProducts with the documented filters
    assert all(r["target"] == "AWSPriceListService.GetProducts" and r["signed"] for r in server.requests)
    hosting = next(r["body"] for r in server.requests if {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"}
                   in r["body"]["Filters"])
    assert hosting["ServiceCode"] == "AmazonSageMaker"
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"} in hosting["Filters"]


def test_plans_use_the_refreshed_catalog(server: PriceListServer, tmp_path: Path) -> None:
    assert run_cli_subprocess("catalog", "refresh", "-r", "eu-west-1", env=aws_env(server)).code == 0
    catalog_file = tmp_path / "mlops-infra-prices.json"
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(RECSYS.replace("instance_type: ml.m5.xlarge", "instance_type: ml.g4dn.xlarge"))
    applied_state_file(spec, "prod", tmp_path / "state.json")
    plan = run_cli_subprocess("plan", "mlsystem.yaml", "--state", "state.json",
                              env={"MLOPS_INFRA_PRICES": str(catalog_file)})
    assert plan.code == 0, plan.stderr
    assert "2 replicas (fixed: no autoscaling) x ml.g4dn.xlarge @ $0.821/h" in plan.stdout
    assert f"price source: {server.url} GetProducts ServiceCode=AmazonSageMaker regionCode=eu-west-1 (" in plan.stdout
    shipped = run_cli_subprocess("plan", "mlsystem.yaml", "--state", "state.json", env={"MLOPS_INFRA_PRICES": ""})
    assert "no eu-west-1 price for ml.g4dn.xlarge" not in shipped.stdout  # the snapshot has it too (AWS bill)


def test_every_page_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = current(recorded_products())[0]
    products = []
    for i in range(250):
        item = copy.deepcopy(template)
        item["product"]["attributes"]["instanceType"] = f"m{i}.large"
        products.append(item)
    with PriceListServer(products) as server:
        result = in_process(monkeypatch, server, "catalog", "refresh", "--out", "p.json")
        assert result.code == 0, result.stderr
        ec2_pages = [r for r in server.requests if r["body"]["ServiceCode"] == "AmazonEC2"]
    assert len(ec2_pages) == 3 and [r["body"].get("NextToken") for r in ec2_pages] == [None, "100", "200"]
    assert len([k for k in rows(tmp_path / "p.json") if k[0] == "ec2"]) == 250


def test_access_denied_exits_1_and_leaves_the_file_untouched(server: PriceListServer, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prices.json").write_text("previous\n")
    server.fail("AccessDeniedException")
    result = in_process(monkeypatch, server, "catalog", "refresh", "--out", "prices.json")
    assert result.code == 1
    assert "error: the AWS Price List refused the request (AccessDeniedException)" in result.stderr
    assert "Allow pricing:GetProducts" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "prices.json").read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["prices.json"]  # no temporary file left


def test_throttling_is_retried(server: PriceListServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server.fail("ThrottlingException", times=2)
    result = in_process(monkeypatch, server, "catalog", "refresh", "--out", "p.json")
    assert result.code == 0, result.stderr
    assert ("ec2", "node", "us-east-1", "m5.large") in rows(tmp_path / "p.json")


def test_a_region_the_price_list_does_not_know_is_an_error(server: PriceListServer, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    result = in_process(monkeypatch, server, "catalog", "refresh", "-r", "eu-south-9", "--out", "p.json")
    assert result.code == 1 and "the AWS Price List has no prices for region 'eu-south-9'" in result.stderr
    assert not (tmp_path / "p.json").exists()
    bad = in_process(monkeypatch, server, "catalog", "refresh", "-r", "Ireland")
    assert bad.code == 1 and "not a region code: Ireland" in bad.stderr


def test_no_credentials_say_what_is_needed(server: PriceListServer, monkeypatch: pytest.MonkeyPatch) -> None:
    result = in_process(monkeypatch, server, "catalog", "refresh", AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    assert result.code == 1
    assert "error: no AWS credentials: refreshing prices reads the AWS Price List Query API" in result.stderr
    assert server.requests == []


def test_the_written_catalog_is_a_catalog(server: PriceListServer, tmp_path: Path, monkeypatch) -> None:
    assert in_process(monkeypatch, server, "catalog", "refresh", "-r", "eu-west-1", "--out", "p.json").code == 0
    monkeypatch.setenv(catalog.PRICES_ENV, str(tmp_path / "p.json"))
    assert catalog.price("ml.g5.xlarge", "training", "eu-west-1").usd_per_hour == 1.57
    assert catalog.ec2_price("c5.xlarge").usd_per_hour == 0.17  # regions not refreshed keep the snapshot's rows


@pytest.mark.parametrize(("out", "said"), [
    ("prices/", "a path ending in / names a directory"),
    ("adir", "refusing to write the price catalog to a directory"),
    ("nodir/prices.json", "its directory nodir does not exist"),
])
def test_an_out_that_cannot_be_the_catalog_is_refused_before_any_aws_call(
        server: PriceListServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str, said: str) -> None:
    """``--out prices/`` wrote a file named ``prices`` (Path() drops the slash; audit robust, also seen): the
    path is checked as every command's output file is (fileio.output_file), before the Price List is read."""
    (tmp_path / "adir").mkdir()
    result = in_process(monkeypatch, server, "catalog", "refresh", "--out", out)
    assert result.code == 1 and said in result.stderr and "Traceback" not in result.output, result.output
    assert server.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]


def test_the_refusal_of_a_directory_names_a_catalog_file_not_a_plan(server: PriceListServer, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "adir").mkdir()
    result = in_process(monkeypatch, server, "catalog", "refresh", "--out", "adir")
    assert "such as mlops-infra-prices.json" in result.stderr and "plan" not in result.stderr, result.stderr


def test_a_capacity_block_product_does_not_unprice_its_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU type's EC2 Capacity Block product shares instanceType, operatingSystem, tenancy, capacitystatus and
    preInstalledSw with its on-demand one; only ``marketoption`` tells them apart. Without that filter a non-zero
    Capacity Block rate made the type "several different prices, left out" (audit pricing45-4). The rates here
    are illustrative."""
    on_demand = current(recorded_products())[0]
    on_demand["product"]["attributes"]["instanceType"] = "p5.48xlarge"
    block = copy.deepcopy(on_demand)
    block["product"]["attributes"]["marketoption"] = "CapacityBlock"
    block["product"]["sku"] = "CAPACITYBLOCK"
    (term,) = block["terms"]["OnDemand"].values()
    (dimension,) = term["priceDimensions"].values()
    dimension["pricePerUnit"]["USD"] = "31.4640000000"
    with PriceListServer([on_demand, block]) as server:
        result = in_process(monkeypatch, server, "catalog", "refresh", "-r", "us-east-1", "--out", "p.json")
        assert result.code == 0, result.stderr
        (ec2,) = [r["body"] for r in server.requests if r["body"]["ServiceCode"] == "AmazonEC2"]
    assert rows(tmp_path / "p.json").get(("ec2", "node", "us-east-1", "p5.48xlarge"), (None,))[0] == 0.096
    assert {"Type": "TERM_MATCH", "Field": "marketoption", "Value": "OnDemand"} in ec2["Filters"]
    assert "several different prices" not in result.stderr
