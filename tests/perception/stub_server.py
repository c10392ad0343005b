"""A local HTTP server on 127.0.0.1 that replays answers in the shape of a real API.

Each test sets ``server.script``: a list of (status, body, headers, delay_s) answered in turn
per route key, the last one repeating. Requests are recorded for assertions.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import make_server

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class StubServer:
    def __init__(self) -> None:
        self.app = Flask("stub")
        self.scripts: dict[str, list[tuple[int, Any, dict, float]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.app.add_url_rule("/<path:path>", "any", self._answer, methods=["GET", "POST"])
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def set(self, key: str, *answers: tuple) -> None:
        """Answers for requests whose path contains ``key``: (status, body[, headers[, delay]])."""
        self.scripts[key] = [(a[0], a[1], a[2] if len(a) > 2 else {}, a[3] if len(a) > 3 else 0.0) for a in answers]

    def reset(self) -> None:
        self.scripts.clear()
        self.requests.clear()

    def _answer(self, path: str) -> Response:
        body = request.get_data()
        self.requests.append({"path": "/" + path, "method": request.method, "headers": dict(request.headers),
                              "json": json.loads(body) if body and body[:1] in b"{[" else None})
        key = next((k for k in self.scripts if k in "/" + path), None)
        if key is None:
            return Response("no script for " + path, status=404)
        queue = self.scripts[key]
        status, payload, headers, delay = queue.pop(0) if len(queue) > 1 else queue[0]
        if delay:
            time.sleep(delay)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        mimetype = "application/json" if not isinstance(payload, str) else "text/html"
        return Response(text, status=status, headers=headers, mimetype=mimetype)

    def close(self) -> None:
        self._server.shutdown()
