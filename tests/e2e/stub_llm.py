"""A stand-in OpenAI-compatible server for end-to-end runs: the chat LLM and Open WebUI's embedder.

It answers ``GET /v1/models``, ``POST /v1/chat/completions`` (streamed or not) and
``POST /v1/embeddings`` (deterministic hashed vectors), and records every chat request it
gets, so a test can read the exact prompt Open WebUI built. Its answer cites the
``<source id="n" name="...">`` tags it finds in the prompt, the way a real model would.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "stub-model"
EMBED_DIM = 64
SOURCE_TAG = re.compile(r'<source id="(\d+)"(?: name="([^"]*)")?')


def answer_for(messages: list[dict[str, Any]]) -> str:
    """A short answer naming the sources in the prompt with their [n], or a plain reply."""
    prompt = "\n".join(_text(m) for m in messages)
    found: dict[str, str] = {}
    for number, name in SOURCE_TAG.findall(prompt):  # the RAG template's own example tag has no name
        if name or number not in found:
            found[number] = name or f"source {number}"
    if not found:
        return "I have no sources for this question."
    lines = ["Here is what the attached papers say:"]
    for number, name in found.items():
        lines.append(f"- {name} [{number}]")
    return "\n".join(lines)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _vector(text: str) -> list[float]:
    """A unit vector from the text's word hashes: similar texts get similar vectors."""
    vec = [0.0] * EMBED_DIM
    for word in re.findall(r"\w+", text.lower()):
        h = int(hashlib.md5(word.encode()).hexdigest(), 16)
        vec[h % EMBED_DIM] += 1.0 if (h >> 8) & 1 else -1.0
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    return [v / norm for v in vec]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # Open WebUI embeds in many parallel requests
    daemon_threads = True


class StubLLM:
    """Runs the server on a loopback port in a thread; ``requests`` holds the chat bodies."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []  # the Authorization header of each chat request, in order
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _json(self, code: int, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [
                        {"id": MODEL, "object": "model", "created": 0, "owned_by": "stub"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.endswith("/embeddings"):
                    inputs = body.get("input")
                    inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
                    self._json(200, {"object": "list", "model": body.get("model"), "data": [
                        {"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(inputs)]})
                    return
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                with stub.lock:
                    stub.requests.append(body)
                    stub.auth.append(self.headers.get("Authorization") or "")
                text = answer_for(body.get("messages") or [])
                if body.get("stream"):
                    self._stream(text)
                else:
                    self._json(200, {
                        "id": "stub-1", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    })

            def _stream(self, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = re.findall(r"\S+\s*|\s+", text)
                for piece in pieces:
                    chunk = {"id": "stub-1", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": MODEL, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                end = {"id": "stub-1", "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL,
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

        self.server = _Server((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "StubLLM":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def prompts(self) -> list[str]:
        """Every recorded chat request's messages as one text each, oldest first."""
        with self.lock:
            return ["\n".join(_text(m) for m in r.get("messages") or []) for r in self.requests]

    def prompts_with_sources(self) -> list[str]:
        return [p for p in self.prompts() if "<source" in p]


if __name__ == "__main__":  # run by hand: python tests/e2e/stub_llm.py 8099
    import sys

    stub = StubLLM(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8099)
    print(stub.url, flush=True)
    stub.server.serve_forever()
