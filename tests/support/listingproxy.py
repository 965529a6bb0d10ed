"""A hostile Hub for the tree audit's tests: a loopback server in front of hubsim that passes every request
through, except that each answer to a model listing (`GET /api/models?...`) is first handed to a test's
`rewrite` hook, which may change its entries and its `Link: next` (point it back at itself, drip endless fresh
pages, plant entries the Hub would never send). The rest of the Hub (model_info, README downloads) stays
hubsim's, so the real client and the real CLI run against it unchanged.

    with ListingProxy(hubsim, rewrite) as proxy:
        env = make_hub_env(hubsim, tmp / "hf"); env["HF_ENDPOINT"] = proxy.url

`rewrite(query, items, next_url)` gets the decoded query (`{"filter": [...], ...}`), the page's entries (JSON
objects) and the absolute URL of the next page as this proxy serves it (None on the last page); it returns the
entries and next URL to send. `proxy.url_of(path_and_query)` is the absolute URL of a request to the proxy, for
a `Link` that points back at the page itself (`proxy.self_url(query)`).
"""

from __future__ import annotations

import http.client
import json
import re
import socketserver
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.hubsim import HubSim

Rewrite = Callable[[dict[str, list[str]], list[Any], "str | None"], tuple[list[Any], "str | None"]]
_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="next"')
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "link", "content-encoding"}


class ListingProxy:
    def __init__(self, hub: HubSim, rewrite: Rewrite) -> None:
        self.hub = hub
        self.rewrite = rewrite
        self.listings = 0  # listing pages answered
        self.errors: list[str] = []  # what went wrong inside the proxy (a test asserts it stays empty)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

            def do_HEAD(self) -> None:
                proxy._forward(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def server_bind(self) -> None:  # no reverse DNS lookup (HTTPServer.server_bind calls getfqdn)
                socketserver.TCPServer.server_bind(self)
                self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

            def handle_error(self, request: Any, client_address: Any) -> None:
                exc = sys.exc_info()[1]
                if not isinstance(exc, ConnectionError | TimeoutError):  # a client that went away is no error
                    proxy.errors.append(f"{type(exc).__name__}: {exc}")

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="listing-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def self_url(self, query: dict[str, list[str]]) -> str:
        """The URL of the listing page asked with `query`: a `Link: next` to it points back at the page."""
        return f"{self.url}/api/models?{urlencode(query, doseq=True)}"

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", self.hub.port, timeout=60)
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "accept-encoding")}
            upstream.request(handler.command, handler.path, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
            upstream.close()
            out_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP]
            link = answer.getheader("Link")
            next_url = None
            if link and (m := _NEXT.search(link)):
                parts = urlsplit(m.group(1))
                next_url = f"{self.url}{parts.path}?{parts.query}"
            split = urlsplit(handler.path)
            if handler.command == "GET" and split.path == "/api/models" and answer.status == 200:
                with self._lock:
                    self.listings += 1
                items, next_url = self.rewrite(parse_qs(split.query, keep_blank_values=True), json.loads(body),
                                               next_url)
                body = json.dumps(items).encode()  # ensure_ascii: a lone surrogate goes out as `\ud800`
            if next_url:
                out_headers.append(("Link", f'<{next_url}>; rel="next"'))
            handler.send_response(answer.status)
            for name, value in out_headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
        except (ConnectionError, TimeoutError):
            handler.close_connection = True
        except Exception as exc:  # a bug in the test's hook: make the test fail, not hang
            self.errors.append(f"{type(exc).__name__}: {exc}")
            handler.close_connection = True

    def __enter__(self) -> ListingProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
