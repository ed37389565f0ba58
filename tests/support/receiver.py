"""A local webhook receiver: a real HTTP server that Apprise's json:// posts notifications to.

Apprise's `json://127.0.0.1:PORT/hook` sends `{"version", "title", "message", "type"}` by POST.
The receiver keeps every message it accepted, can answer 5xx, go down and come back on the same
port, and run a hook on each request before answering (to kill the sender mid-delivery).
"""

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self) -> None:
        self.messages: list[dict] = []  # accepted, in arrival order
        self.refused = 0
        self.status = 200
        self.on_request: Callable[[dict], bool] | None = None  # False: refuse the message
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> "Receiver":
        self.up()
        return self

    def __exit__(self, *exc_info) -> None:
        self.down()

    def url(self, path: str = "hook", auth: str = "") -> str:
        return f"json://{auth}127.0.0.1:{self.port}/{path}"

    def up(self) -> None:
        """Listen (again, on the same port when it listened before)."""
        handler = type("Handler", (_Handler,), {"receiver": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        """Stop listening: connections are refused until `up`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> list[int]:
        """Every event id named by the accepted messages, in order (several per batch)."""
        return [int(n) for message in self.messages for n in re.findall(r"^event (\d+)$", message["message"], re.M)]

    def _receive(self, document: dict) -> int:
        accepted = self.on_request is None or self.on_request(document) is not False
        with self._lock:
            if not accepted:
                self.refused += 1
                return 500
            if self.status >= 300:
                self.refused += 1
            else:
                self.messages.append(document)
            return self.status


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        document = json.loads(self.rfile.read(length) or b"{}")
        document["_path"] = self.path
        document["_authorization"] = self.headers.get("Authorization")
        status = self.receiver._receive(document)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
