"""How long ``plan --refresh`` on Kubernetes takes, whole process, when the cluster never answers.

``--refresh-timeout`` is what the live reads "may take in all" (``mlops-infra plan --help``). This
script starts a server on 127.0.0.1 that accepts connections, reads what it is sent and never
answers (what a cluster behind a dead load balancer or a hung API server does), points a kubeconfig
at it, and runs the console module's ``plan`` of ``examples/fraud-detection`` (environment dev, a
Kubernetes target) with ``--state`` (its applied state: 52 objects to read) and ``--refresh
--refresh-timeout T`` as a fresh process, ``--runs`` times. It prints the median, min and max wall
time, the offline plan of the same tree (no ``--refresh``: start-up, compile and render) as the floor,
and what the refresh added beyond that floor against ``T``. With ``--baseline TREE`` (a source tree of
mlops-infra, e.g. an older checkout, run through ``PYTHONPATH`` with the same interpreter) the same runs
of that tree follow, and the ratio. The load average is printed before and after.

    python benchmarks/bench_refresh_deadline.py [--timeout 8] [--runs 3] [--baseline TREE]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlops_infra.compile import compile_system  # noqa: E402
from mlops_infra.spec import load_system  # noqa: E402
from tests.support.applied_state import applied_state, dumps  # noqa: E402

SPEC = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"


class SilentServer:
    """Accepts every connection on 127.0.0.1, reads what arrives and never writes a byte."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self._socket.close()
        for conn in self._open:
            conn.close()


def _run(argv: list[str], tree: str, kubeconfig: Path, cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "MLOPS_INFRA_", "KUBE"))}
    env.update(PYTHONPATH=tree, KUBECONFIG=str(kubeconfig), HOME=str(cwd))
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or "Traceback" in done.stderr:
        raise SystemExit(f"{argv[3:]} from {tree} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=8.0, help="--refresh-timeout of the runs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="a source tree of mlops-infra to run the same way")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    server = SilentServer()
    trees = [("this tree", str(REPO))] + ([("baseline", args.baseline)] if args.baseline else [])
    medians: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        state = work / "state.json"
        state.write_text(dumps(applied_state(compile_system(load_system(SPEC, "dev").system, "dev"))))
        kubeconfig = work / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: kind-mlops\n"
            f"clusters: [{{name: silent, cluster: {{server: '{server.url}'}}}}]\n"
            "users: [{name: dev, user: {token: t}}]\n"
            "contexts: [{name: kind-mlops, context: {cluster: silent, user: dev}}]\n")
        plan = [sys.executable, "-m", "mlops_infra.cli.main", "plan", str(SPEC), "--env", "dev", "--state", str(state),
                "--format", "json"]
        refresh = [*plan, "--refresh", "--refresh-timeout", f"{args.timeout:g}"]
        print(f"plan --refresh --refresh-timeout {args.timeout:g} of fraud-detection dev against a cluster that "
              f"never answers; {args.runs} runs each after 1 warm-up of the offline plan")
        print(f"{'tree':<12} {'command':<18} {'median s':>9} {'min':>7} {'max':>7} {'beyond offline':>15}")
        for label, tree in trees:
            _run(plan, tree, kubeconfig, work)  # warm-up: bytecode, page cache
            offline = statistics.median(_run(plan, tree, kubeconfig, work) for _ in range(args.runs))
            walls = [_run(refresh, tree, kubeconfig, work) for _ in range(args.runs)]
            medians[label] = statistics.median(walls)
            print(f"{label:<12} {'plan (offline)':<18} {offline:>9.3f}")
            print(f"{label:<12} {'plan --refresh':<18} {medians[label]:>9.3f} {min(walls):>7.3f} {max(walls):>7.3f} "
                  f"{medians[label] - offline:>9.3f} s = {(medians[label] - offline) / args.timeout:.2f}x the timeout")
    server.close()
    if args.baseline:
        print(f"this tree / baseline: {medians['this tree'] / medians['baseline']:.3f}x")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
