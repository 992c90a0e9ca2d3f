"""The moto stand-in of tests/support/moto_server.py: the server with kept connections (what the rollout
benchmark runs on) answers exactly like moto's own server, reuses its connections, and leaves no thread
behind; the routing and action-name patches (5 and 6) change no answer."""

from __future__ import annotations

import http.client
import socket
import threading
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.rollout.aws_world import deploy
from tests.support.moto_server import client, reset, running_moto_server

pytestmark = pytest.mark.moto


def _answer(call) -> dict:
    """A call's parsed answer (or error) without the per-request metadata (request id, date)."""
    try:
        out = call()
    except ClientError as exc:
        return {"error": exc.response["Error"], "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
    out.pop("ResponseMetadata", None)
    return out


def _calls(sm, cw) -> list:
    arn = sm.describe_endpoint(EndpointName="kept-scorer")["EndpointArn"]
    return [
        lambda: sm.describe_endpoint(EndpointName="kept-scorer"),
        lambda: sm.list_tags(ResourceArn=arn),
        lambda: sm.describe_endpoint_config(EndpointConfigName="kept-scorer-cfg-v12"),
        lambda: sm.describe_endpoint(EndpointName="no-such-endpoint"),  # an error answer
        lambda: sm.search(Resource="Endpoint", MaxResults=1),
        lambda: cw.describe_alarms(AlarmNames=["kept-scorer-latency"]),
    ]


def test_the_kept_connection_server_answers_like_moto_s_own():
    with running_moto_server() as plain_url, running_moto_server(keep_alive=True) as kept_url:
        reset(plain_url)  # both serve the same in-process backends
        sm, cw = client("sagemaker", plain_url), client("cloudwatch", plain_url)
        deploy(sm, "kept-scorer")
        sm.add_tags(ResourceArn=sm.describe_endpoint(EndpointName="kept-scorer")["EndpointArn"],
                    Tags=[{"Key": "mlops-infra:rollout:phase", "Value": "progressing"}])
        cw.put_metric_alarm(AlarmName="kept-scorer-latency", Namespace="AWS/SageMaker", MetricName="ModelLatency",
                            ComparisonOperator="GreaterThanThreshold", EvaluationPeriods=1, Period=60,
                            Threshold=250000.0, Statistic="Average")
        plain = [_answer(call) for call in _calls(sm, cw)]
        kept = [_answer(call) for call in _calls(client("sagemaker", kept_url), client("cloudwatch", kept_url))]
    assert kept == plain
    assert plain[3]["error"]["Code"] == "ValidationException" and plain[0]["EndpointStatus"] == "InService"
    # a write through the kept server is seen through moto's (same backends, same handlers)
    with running_moto_server(keep_alive=True) as kept_url, running_moto_server() as plain_url:
        sm = client("sagemaker", kept_url)
        sm.update_endpoint_weights_and_capacities(EndpointName="kept-scorer", DesiredWeightsAndCapacities=[
            {"VariantName": "primary", "DesiredInstanceCount": 4}])
        variants = client("sagemaker", plain_url).describe_endpoint(EndpointName="kept-scorer")["ProductionVariants"]
        assert variants[0]["CurrentInstanceCount"] == 4


def _serving_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}


def test_connections_are_kept_between_requests_and_closed_with_the_server():
    before = _serving_threads()
    with running_moto_server(keep_alive=True) as url:
        where = urlsplit(url)
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        # a body the application never reads, then two more requests on the same socket
        connection.request("POST", "/moto-api/reset", body=b"x" * 5000)
        first = connection.getresponse()
        first.read()
        assert first.status == 200 and not first.will_close
        sock = connection.sock
        for _ in range(2):
            connection.request("POST", "/moto-api/reset", body=b"")
            again = connection.getresponse()
            again.read()
            assert again.status == 200 and connection.sock is sock  # the same connection
        assert len(_serving_threads() - before) == 1
    assert _serving_threads() - before == set()  # the thread of the idle kept connection ended
    connection.close()


def test_update_endpoint_is_found_after_the_patches_are_removed_and_applied_again():
    """Patch 6 remembers each response class's action names; removing and applying the patches
    (patch 2 adds UpdateEndpoint) starts afresh."""
    for keep_alive in (False, True, False):
        with running_moto_server(keep_alive=keep_alive) as url:
            reset(url)
            sm = client("sagemaker", url)
            target = deploy(sm, "again-scorer")
            sm.update_endpoint(EndpointName="again-scorer", EndpointConfigName=target.final_config)
            assert sm.describe_endpoint(EndpointName="again-scorer")["EndpointConfigName"] == target.final_config


def test_a_body_sent_after_100_continue_arrives_whole():
    """botocore asks S3 ``PutObject`` to wait for ``100 Continue`` before the body (``Expect``
    header); the standard library's request handler answers it while reading the headers
    (``http.server.BaseHTTPRequestHandler.handle_expect_100``), then the body is read whole."""
    body = bytes(range(256)) * 400
    with running_moto_server(keep_alive=True) as url:
        s3 = client("s3", url)
        s3.create_bucket(Bucket="kept-bucket")
        where = urlsplit(url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as raw:
            raw.sendall(b"PUT /kept-bucket/raw HTTP/1.1\r\nHost: " + where.netloc.encode() +
                        b"\r\nExpect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            assert raw.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")  # before any body byte
        seen: list = []
        s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: seen.append(
            request.headers.get("Expect")))
        s3.put_object(Bucket="kept-bucket", Key="blob", Body=body)
        assert s3.get_object(Bucket="kept-bucket", Key="blob")["Body"].read() == body
    assert seen and seen[0] in (b"100-continue", "100-continue")


def _seed_one_endpoint() -> str:
    """Runs in the child: writes into its own backends, before the server is announced."""
    from moto.sagemaker.models import sagemaker_backends

    sagemaker_backends["123456789012"]["us-east-1"].create_model("seeded-v1-ab12cd", "arn:aws:iam::123456789012:role/x",
                                                               {"Image": "img"}, None, None, None)
    return "seeded-v1-ab12cd"


def test_a_server_in_a_child_process_serves_what_it_seeded_and_leaves_no_process_behind():
    import multiprocessing
    import os

    from tests.support.moto_server import moto_server_process

    with moto_server_process(_seed_one_endpoint) as server:
        assert server.pid != os.getpid() and server.url.startswith("http://127.0.0.1:")
        sm = client("sagemaker", server.url)
        assert sm.describe_model(ModelName=server.seeded)["ModelName"] == "seeded-v1-ab12cd"
        from moto.sagemaker.models import sagemaker_backends
        here = sagemaker_backends["123456789012"]["us-east-1"]._models
        assert "seeded-v1-ab12cd" not in here  # seeded in the child's backends, not in this process's
        before = server.cpu_seconds()
        for _ in range(50):
            sm.list_models()
        assert server.cpu_seconds() > before  # the child's own CPU, counted there
        os.kill(server.pid, 0)  # alive while the context runs
    assert multiprocessing.active_children() == []
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)  # joined: gone, not a zombie


def test_a_child_server_whose_seed_fails_raises_its_traceback_and_ends():
    import multiprocessing

    from tests.support.moto_server import moto_server_process

    def broken() -> None:
        raise ValueError("seed broke")

    with pytest.raises(RuntimeError, match="ValueError: seed broke"), moto_server_process(broken):
        pass
    assert multiprocessing.active_children() == []
