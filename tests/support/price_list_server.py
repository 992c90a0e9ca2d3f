"""A stand-in for the AWS Price List Query API on 127.0.0.1, speaking its real wire protocol.

The protocol (botocore service model ``pricing`` 2017-10-15: JSON 1.1, ``POST /`` with
``X-Amz-Target: AWSPriceListService.GetProducts`` and a SigV4 ``Authorization`` header) answers
``{"FormatVersion": "aws_v1", "PriceList": [<product JSON as a string>, ...], "NextToken": ...}``
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html).
The server holds product documents (``tests/catalog/data``) and applies ``TERM_MATCH`` filters to
their ``product.attributes`` (plus ``productFamily``), pages by ``MaxResults``, and records every
request. ``fail`` makes the next requests answer an AWS error (e.g. ``AccessDeniedException``,
``ThrottlingException``). It is a stand-in: it does not check signatures, only that one is there.

Start it with ``with PriceListServer(products) as server:`` and point boto3 at ``server.url``
(``AWS_ENDPOINT_URL_PRICING``); it binds a free port and stops in ``__exit__``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "catalog" / "data"
STOP_POLL = 0.05
"""Seconds between the accept loop's checks for a stop request (``serve_forever(poll_interval)``; the
0.5 s default made every ``__exit__`` wait about half a second)."""

LOCATIONS = {"US East (N. Virginia)": "us-east-1", "EU (Ireland)": "eu-west-1"}


def recorded_products() -> list[dict[str, Any]]:
    """The product documents under tests/catalog/data (see tests/catalog/data/README.md)."""
    ec2 = json.loads((DATA / "ec2-m5.large-us-east-1.price-list-item.json").read_text())
    sagemaker = json.loads((DATA / "sagemaker-eu-west-1.price-list-items.json").read_text())
    return [ec2, *sagemaker]


def _attributes(product: dict[str, Any]) -> dict[str, str]:
    attributes = dict(product["product"]["attributes"])
    attributes.setdefault("regionCode", LOCATIONS.get(attributes.get("location", ""), ""))
    attributes["productFamily"] = product["product"].get("productFamily", "")
    return attributes


class PriceListServer:
    """GetProducts over HTTP on 127.0.0.1 (see the module docstring)."""

    def __init__(self, products: Iterable[dict[str, Any]]) -> None:
        self.products = list(products)
        self.requests: list[dict[str, Any]] = []
        self.failures: list[tuple[int, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append({"target": self.headers.get("X-Amz-Target"), "body": body,
                                        "signed": self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")})
                if server.failures:
                    status, code = server.failures.pop(0)
                    return self._send(status, {"__type": code, "message": f"stand-in {code}"})
                if self.headers.get("X-Amz-Target") != "AWSPriceListService.GetProducts":
                    return self._send(400, {"__type": "UnknownOperationException", "message": "stand-in"})
                return self._send(200, server.get_products(body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": STOP_POLL},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, code: str, *, status: int = 400, times: int = 1) -> None:
        """Answer the next ``times`` requests with the AWS error ``code``."""
        self.failures += [(status, code)] * times

    def get_products(self, body: dict[str, Any]) -> dict[str, Any]:
        """The GetProducts answer for a request body."""
        matched = [p for p in self.products if p.get("serviceCode") == body.get("ServiceCode")
                   and all(f.get("Type") == "TERM_MATCH" and _attributes(p).get(f["Field"]) == f["Value"]
                           for f in body.get("Filters", []))]
        start = int(body.get("NextToken") or 0)
        size = int(body.get("MaxResults") or 100)
        page = matched[start:start + size]
        out: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in page]}
        if start + size < len(matched):
            out["NextToken"] = str(start + size)
        return out

    def __enter__(self) -> PriceListServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
