"""A SageMaker-compatible inference server (``serve``): ``GET /ping``, ``POST /invocations`` on 8080.

SageMaker runs the serving container as ``docker run <image> serve`` with the model unpacked at
``/opt/ml/model`` and sends health checks to ``/ping`` and requests to ``/invocations`` on port 8080
("Use Your Own Inference Code with Hosting Services", SageMaker developer guide). The handler is
the SageMaker PyTorch toolkit's shape: ``model_fn(model_dir)``, ``input_fn(body, content_type)``,
``predict_fn(data, model)``, ``output_fn(prediction, accept)``.
"""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_server(handler_module, model_dir: Path, host: str = "0.0.0.0", port: int = 8080) -> ThreadingHTTPServer:
    model = handler_module.model_fn(str(model_dir))

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._reply(200 if self.path == "/ping" else 404, b"{}")

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._reply(404, b"{}")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                data = handler_module.input_fn(body, self.headers.get("Content-Type", "application/json"))
                out = handler_module.output_fn(handler_module.predict_fn(data, model), "application/json")
            except ValueError as exc:
                self._reply(400, str(exc).encode(), "text/plain")
                return
            self._reply(200, out)

        def log_message(self, *args) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)


def serve(handler_module) -> None:
    root = Path(os.environ.get("MLOPS_SAGEMAKER_ROOT", "/opt/ml"))
    make_server(handler_module, root / "model", port=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", 8080))).serve_forever()
