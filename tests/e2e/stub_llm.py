"""A stand-in OpenAI-compatible server for end-to-end runs: the chat LLM and Open WebUI's embedder.

It answers ``GET /v1/models``, ``POST /v1/chat/completions`` (streamed or not) and
``POST /v1/embeddings`` (deterministic hashed vectors), and records every chat request it
gets, so a test can read the exact prompt Open WebUI built. Its answer is two or three
sentences taken from the ``<source id="n" ...>`` blocks it finds in the prompt, each cited [n],
the way a real model answers (what the screenshots show).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "stub-model"
EMBED_DIM = 64
SOURCE = re.compile(r'<source id="(\d+)"([^>]*)>((?:(?!<source).)*?)</source>', re.DOTALL)
NAMED = re.compile(r'\b(?:name|title)="([^"]*)"')
OPENING = "From the attached papers:"  # every answer with sources starts so: tests wait for it
NO_SOURCES = "I have no sources for this question."


def answer_for(messages: list[dict[str, Any]]) -> str:
    """Two or three sentences the way a model writes them: each taken from one numbered source in
    the prompt (Open WebUI's RAG template names them ``name=``, ScholarGraph's Pipe ``title=``)
    and cited [n]; a plain reply when the prompt has no sources."""
    prompt = "\n".join(_text(m) for m in messages)
    names: dict[str, str] = {}
    bodies: dict[str, list[str]] = {}
    for number, attributes, body in SOURCE.findall(prompt):  # Open WebUI repeats an id per passage
        named = NAMED.search(attributes)  # the RAG template's own example tag has no name
        if named:
            names.setdefault(number, html.unescape(named.group(1)))
            bodies.setdefault(number, []).append(body)
    if not names:
        return NO_SOURCES
    sentences = []
    for i, (number, name) in enumerate(list(names.items())[:3]):
        sentence = _sentence("\n\n".join(bodies[number]))
        lead = OPENING if i == 0 else f"{name} adds:" if i == 1 else f"{name} notes:"
        sentences.append(f"{lead} {sentence} [{number}].")
    return " ".join(sentences)


def _sentence(body: str) -> str:
    """The source's first sentence that reads like prose (not a heading, a [section, page] marker,
    a fence, a table cell or a footnote), at most 30 words; a PDF's line breaks inside a
    paragraph do not end a sentence."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", body):
        lines = [line.strip() for line in block.splitlines()]
        kept = [line for line in lines if line and not (line.startswith("[") and line.endswith("]"))
                and not line.startswith(("```", "~~~"))]
        paragraphs.append(" ".join(" ".join(kept).split()))
    lines = [" ".join(line.split()) for line in body.splitlines()]
    for paragraph in paragraphs + lines:  # whole paragraphs first, then single lines
        for candidate in re.split(r"(?<=[a-z)][.!?])\s+", paragraph):
            words = candidate.split()
            prose = sum(bool(re.fullmatch(r"[A-Za-z][a-z-]*[,;:.]?", w)) for w in words)
            if len(words) >= 8 and candidate[0].isupper() and prose >= 0.7 * len(words):
                return " ".join(words[:30]).rstrip(".!?;:,")
    longest = max(paragraphs or [""], key=len).split()  # no prose at all: the longest paragraph
    return " ".join(longest[:25]).rstrip(".!?;:,") or "the passage"


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
