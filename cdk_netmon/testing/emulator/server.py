"""The emulator's HTTP server: a thread on 127.0.0.1 that hands each request to the facade.

Kept apart from the facade, as moto keeps its `urls` apart from its `responses`: this module knows
HTTP and nothing of Network Monitor; `LocalNetworkMonitor.answer` knows the service and nothing of
sockets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]
"""(method, path, headers with lower-case names, body) -> (status, headers, payload)."""


class Server:
    """Serves `answer` on 127.0.0.1:`port` (any free port for 0) until `stop`."""

    def __init__(self, answer: Answer, port: int = 0) -> None:
        self._answer = answer
        self._port = port
        self._http: ThreadingHTTPServer | None = None

    def start(self) -> None:
        answer = self._answer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = answer(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    @property
    def url(self) -> str:
        assert self._http is not None, "use LocalNetworkMonitor as a context manager"
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"
