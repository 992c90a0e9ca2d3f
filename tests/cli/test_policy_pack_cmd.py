"""``mlops-infra policy-pack``: the pack directory it writes serves the guardrails as Pulumi would run it.

The pack is started the way the Pulumi CLI starts an analyzer plugin (its ``__main__.py`` in a fresh
interpreter, which prints the port of its gRPC server on 127.0.0.1 and serves until stopped); the test
then speaks the analyzer protocol to it (``GetAnalyzerInfo``, ``AnalyzeStack`` with a stack compiled
from the system) and compares the answers with ``plan``'s. No pulumi binary is needed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.guardrails import GUARDED, compiled, edit

PROD = "    promote_from: staging\n"


def test_policy_pack_writes_the_pack_and_never_overwrites_without_force(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(GUARDED)
    result = run_cli("policy-pack", str(spec))
    assert result.code == 0, result.output
    pack = tmp_path / "policy"
    assert sorted(p.name for p in pack.iterdir()) == ["PulumiPolicy.yaml", "__main__.py", "requirements.txt"]
    assert "serve(Path(__file__).resolve().parent / '../mlsystem.yaml')" in (pack / "__main__.py").read_text()
    assert "[policy]" in (pack / "requirements.txt").read_text()
    again = run_cli("policy-pack", str(spec))
    assert again.code == 1 and "3 file(s) exist already; nothing was written" in again.stderr
    assert run_cli("policy-pack", str(spec), "--force").code == 0
    spec.write_text(edit(GUARDED, ("kind: MLSystem", "kind: MLSystm")))
    invalid = run_cli("policy-pack", str(spec), "--dir", str(tmp_path / "other"))
    assert invalid.code == 1 and "Traceback" not in invalid.output and not (tmp_path / "other").exists()


@pytest.mark.timeout(120)
def test_the_written_pack_serves_plans_answers_over_the_analyzer_protocol(tmp_path: Path) -> None:
    pytest.importorskip("pulumi_policy", reason="the policy extra is not installed (pip install 'mlops-infra[policy]')")
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime import proto
    from pulumi.runtime.proto import analyzer_pb2_grpc

    from tests.support.policy_pack import request_of

    text = edit(GUARDED, ("    capture: {sample_percent: 10}\n", ""), (PROD, PROD + "    guardrails: {max_gpus: 4}\n"))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    assert run_cli("policy-pack", str(spec)).code == 0
    env = {**os.environ, "PULUMI_STACK": "prod", "PULUMI_CONFIG": json.dumps({"mlops:environment": "prod"})}
    process = subprocess.Popen([sys.executable, str(tmp_path / "policy" / "__main__.py")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd=tmp_path / "policy", start_new_session=True)
    try:
        port = int(process.stdout.readline().decode().strip())  # what Pulumi reads to connect
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert [p.name for p in info.policies][:2] == ["encryption", "no_public_access"]
            _, graph = compiled(text, "prod")
            response = stub.AnalyzeStack(request_of(graph), timeout=60)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    found = {(d.policyName, d.enforcementLevel == proto.MANDATORY) for d in response.diagnostics}
    assert found == {("capture", True), ("max_gpus", True)}
    capture = next(d for d in response.diagnostics if d.policyName == "capture")
    endpoint = next(r.urn for r in graph.resources if r.type == "mlops:serving:Endpoint")
    assert capture.urn == endpoint and "endpoints.api captures no requests in prod" in capture.message

