"""A local stand-in for the Hugging Face hub's HTTP API on 127.0.0.1, for the real huggingface_hub client.

It answers what ``HfApi.repo_info(files_metadata=True)`` and ``http_get`` ask for:

* ``GET /api/{models|datasets}/{repo}/revision/{rev}`` — id, commit sha, gated flag, and the
  siblings with size, git blob id and (for large files) the LFS sha256, like the hub;
* ``GET``/``HEAD /{repo}/resolve/{rev}/{path}`` (``/datasets/{repo}/resolve/…`` for datasets) —
  the bytes, with ``Range: bytes=N-`` answered by 206 and ``Content-Range``; ``ETag``,
  ``X-Repo-Commit`` and ``X-Linked-Size`` headers; a gated repository without a valid token gets
  401 with ``X-Error-Code: GatedRepo`` as the hub sends; a wrong token 401 "Invalid credentials".

Test controls: ``slow_s`` sleeps between 64 KB pieces (time to cancel), ``drop_after[path] = n``
closes the connection after n bytes of the next GET of that file (a lost connection), and every
request is recorded (method, path, Range, whether it carried a token).
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LFS_MIN = 1024  # files at least this big are "LFS" files: listed with a sha256, like weights on the hub


@dataclass
class Repo:
    repo_id: str
    files: dict[str, bytes]
    repo_type: str = "model"
    gated: bool = False
    sha: str = "0123456789abcdef0123456789abcdef01234567"

    def sibling(self, path: str) -> dict[str, Any]:
        data = self.files[path]
        blob = hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()
        out: dict[str, Any] = {"rfilename": path, "size": len(data), "blobId": blob}
        if len(data) >= LFS_MIN:
            out["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
        return out


@dataclass
class StubHub:
    token: str = "hf_stub_valid_token_123"
    repos: dict[tuple[str, str], Repo] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    drop_after: dict[str, int] = field(default_factory=dict)
    slow_s: float = 0.0

    def add(self, repo: Repo) -> Repo:
        self.repos[(repo.repo_type, repo.repo_id)] = repo
        return repo

    def start(self) -> "StubHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                hub._handle(self, head=True)

            def do_GET(self) -> None:  # noqa: N802
                hub._handle(self, head=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fetched(self, path_end: str) -> list[dict[str, Any]]:
        """Recorded GETs of resolve URLs ending with ``path_end``."""
        return [r for r in self.requests if r["method"] == "GET" and "/resolve/" in r["path"]
                and r["path"].endswith(path_end)]

    # ---- answers ---------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = h.path.split("?", 1)[0]
        auth = h.headers.get("Authorization", "")
        self.requests.append({"method": h.command, "path": path, "range": h.headers.get("Range"),
                              "token": auth.removeprefix("Bearer ").strip() or None, "t": time.time()})
        if auth and auth != f"Bearer {self.token}":
            return self._send(h, 401, b'{"error":"Invalid credentials in Authorization header"}',
                              {"X-Error-Message": "Invalid credentials in Authorization header"}, head)
        authed = bool(auth)
        m = re.fullmatch(r"/api/(models|datasets)/(.+)/revision/([^/]+)", path)
        if m:
            repo = self.repos.get((m.group(1)[:-1], m.group(2)))
            if repo is None:
                return self._send(h, 404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"}, head)
            info = {"id": repo.repo_id, "sha": repo.sha, "gated": "manual" if repo.gated else False, "private": False,
                    "siblings": [repo.sibling(p) for p in sorted(repo.files)]}
            return self._send(h, 200, json.dumps(info).encode(), {"Content-Type": "application/json"}, head)
        m = re.fullmatch(r"/(datasets/)?(.+?)/resolve/([^/]+)/(.+)", path)
        if m:
            repo = self.repos.get(("dataset" if m.group(1) else "model", m.group(2)))
            if repo is None or m.group(4) not in repo.files:
                return self._send(h, 404, b"Entry not found", {"X-Error-Code": "EntryNotFound"}, head)
            if repo.gated and not authed:
                msg = f"Access to model {repo.repo_id} is restricted. You must have access to it and be authenticated."
                return self._send(h, 401, msg.encode(), {"X-Error-Code": "GatedRepo", "X-Error-Message": msg}, head)
            return self._file(h, repo, m.group(4), head)
        return self._send(h, 404, b"not found", {}, head)

    def _file(self, h: BaseHTTPRequestHandler, repo: Repo, name: str, head: bool) -> None:
        data = repo.files[name]
        start = 0
        rng = re.fullmatch(r"bytes=(\d+)-", h.headers.get("Range", "") or "")
        headers = {"ETag": f'"{hashlib.sha256(data).hexdigest()}"', "X-Repo-Commit": repo.sha,
                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if len(data) >= LFS_MIN:
            headers["X-Linked-Size"] = str(len(data))
            headers["X-Linked-Etag"] = headers["ETag"]
        status = 200
        if rng and not head:
            start = int(rng.group(1))
            if start >= len(data):
                return self._send(h, 416, b"", {"Content-Range": f"bytes */{len(data)}"}, head)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if head:
            return
        limit = self.drop_after.pop(name, None)
        sent = 0
        for i in range(0, len(body), 64 * 1024):
            piece = body[i:i + 64 * 1024]
            if limit is not None and sent + len(piece) > limit:
                h.wfile.write(piece[:limit - sent])
                h.wfile.flush()
                h.close_connection = True
                h.connection.shutdown(2)  # the connection is lost mid-file
                return
            try:
                h.wfile.write(piece)
            except (BrokenPipeError, ConnectionResetError):  # the client stopped (a cancel)
                return
            sent += len(piece)
            if self.slow_s:
                time.sleep(self.slow_s)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)


def weights(n: int, seed: int) -> bytes:
    """Deterministic pseudo-random bytes standing in for a weights file."""
    import random

    return random.Random(seed).randbytes(n)


def dinov2_repo(size: int = 3 * 1024 * 1024) -> Repo:
    return Repo("facebook/dinov2-large", {
        "config.json": b'{"model_type": "dinov2", "hidden_size": 1024}',
        "model.safetensors": weights(size, 1),
        "preprocessor_config.json": b'{"crop_size": 224}',
        "pytorch_model.bin": weights(4096, 2),   # the same weights again: not fetched
        "README.md": b"# DINOv2 large",
    })


def flux_repo() -> Repo:
    index = lambda shards: json.dumps({"weight_map": {f"w{i}": s for i, s in enumerate(shards)}}).encode()  # noqa: E731
    t_shards = [f"diffusion_pytorch_model-0000{i}-of-00002.safetensors" for i in (1, 2)]
    e_shards = [f"model-0000{i}-of-00002.safetensors" for i in (1, 2)]
    files = {"model_index.json": b"{}", "scheduler/scheduler_config.json": b"{}", "text_encoder/config.json": b"{}",
             "text_encoder/model.safetensors": weights(2048, 3), "text_encoder_2/config.json": b"{}",
             "text_encoder_2/model.safetensors.index.json": index(e_shards), "tokenizer/vocab.json": b"{}",
             "tokenizer/merges.txt": b"#", "tokenizer_2/spiece.model": weights(1500, 4),
             "transformer/config.json": b"{}",
             "transformer/diffusion_pytorch_model.safetensors.index.json": index(t_shards),
             "vae/config.json": b"{}", "vae/diffusion_pytorch_model.safetensors": weights(2048, 5),
             "flux1-dev.safetensors": weights(8192, 6), "ae.safetensors": weights(4096, 7)}  # not fetched
    files.update({f"text_encoder_2/{s}": weights(3000, 10 + i) for i, s in enumerate(e_shards)})
    files.update({f"transformer/{s}": weights(5000, 20 + i) for i, s in enumerate(t_shards)})
    return Repo("black-forest-labs/FLUX.1-dev", files, gated=True)
