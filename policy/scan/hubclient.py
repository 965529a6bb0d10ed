"""What every Hub call shares: the options (timeouts, retries, deadlines, size caps), the client's environment and
quiet logging, one-line failure reasons without secrets, and the bounds every transfer is held to.

**Bounds that hold.** httpx (the transport of huggingface_hub) has per-operation timeouts only: a server that
sends one byte a second, or a body without end, keeps a request alive for as long as it likes, and the client
downloads whatever size it is sent. Inside `limited(...)` (a block of the calling thread; huggingface_hub sends
requests from the thread that asks), every request of the client's shared session is held to:

- a deadline: each connect/read/write timeout is capped by what is left of it, each read of the body checks it,
  and a watchdog (`Watchdog`) shuts the connection's socket down when it passes, so a read blocked on a silent
  or dripping server returns at once. The body then fails with `TooSlow`, and the client's own clean-up runs
  (huggingface_hub removes a download's partial file on any error);
- a size cap: a declared `Content-Length` above it is refused before the body (`TooLarge`), and the body is
  counted while it streams, so an undeclared or endless body stops at the cap. The request asks for an
  uncompressed body (`Accept-Encoding: identity`), so the bytes counted are the bytes kept; a body compressed
  anyway is refused, since its size after decoding is unknown (a few KB of gzip can expand to gigabytes).

They hook into the client through the event hooks of its shared `httpx2.Client` (`get_session()`), and act only
inside `limited(...)`: other requests (and other programs using huggingface_hub in the process) are untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policy.records import record

MB = 1024 * 1024


@record
class HubOptions:
    """How the Hub is read: offline, timeouts, workers, retries, deadlines and size caps."""
    offline: bool = False
    timeout: float = 10.0  # seconds per request (the client has none by default)
    workers: int = 16  # parallel fetches (I/O-bound; the client spends ~10 ms of CPU per node)
    attempts: int = 4  # tries per request for retryable failures
    backoff: float = 0.5  # first wait; doubles, with jitter, capped at 8 s
    max_wait: float = 30.0  # longest Retry-After we honour before giving up on a node
    prefetch_depth: int = 16  # fetch declared parents as soon as a node arrives, up to this depth
    run_deadline: float = 60.0  # one target's Hub work (subject and lineage), retries and waits included
    # The largest answer kept: an API answer (model_info with its file list, a page of a listing) and a card
    # (README.md, LICENSE). Real ones are far smaller (a large model_info is ~1 MB, a large card ~1 MB); a
    # JSON answer costs about 4x its size in memory while parsed, and up to `workers` are read at once.
    max_api_mb: float = 16.0
    max_card_mb: float = 10.0

    @property
    def deadline(self) -> float:
        """The longest a download may take, retries and honoured waits included."""
        return self.timeout * self.attempts + self.max_wait

    @property
    def max_api_bytes(self) -> int:
        return int(self.max_api_mb * MB)

    @property
    def max_card_bytes(self) -> int:
        return int(self.max_card_mb * MB)

    @classmethod
    def from_env(cls, offline: bool = False) -> HubOptions:
        env = os.environ
        offline = offline or env.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        return cls(offline=offline, timeout=float(env.get("POLICYCHECK_HUB_TIMEOUT", 10)),
                   workers=int(env.get("POLICYCHECK_HUB_WORKERS", 16)),
                   attempts=int(env.get("POLICYCHECK_HUB_ATTEMPTS", 4)),
                   backoff=float(env.get("POLICYCHECK_HUB_BACKOFF", 0.5)),
                   max_wait=float(env.get("POLICYCHECK_HUB_MAX_WAIT", 30)),
                   run_deadline=float(env.get("POLICYCHECK_HUB_DEADLINE", 60)),
                   max_api_mb=float(env.get("POLICYCHECK_HUB_MAX_API_MB", 16)),
                   max_card_mb=float(env.get("POLICYCHECK_HUB_MAX_CARD_MB", 10)))


def prepare_environment(options: HubOptions) -> None:
    # huggingface_hub reads these once, at import; set them before the first import.
    seconds = str(max(1, round(options.timeout)))  # the client parses these as integers
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", seconds)
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", seconds)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if options.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"


def quiet_client() -> None:
    """The client logs its retries (`Retrying in 1s [Retry 1/5]`) and warns on stderr; policycheck reports
    each failure in one line of its own instead, so neither reaches the user's terminal."""
    import logging
    import sys
    import warnings

    # The client sets its logger's level from HF_HUB_VERBOSITY when its logging module is first imported
    # (lazily, with the HTTP stack); if that already happened, set the level directly.
    os.environ["HF_HUB_VERBOSITY"] = "critical"
    if "huggingface_hub.utils.logging" in sys.modules:
        logging.getLogger("huggingface_hub").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"huggingface_hub(\..*)?$")


def one_line(exc: BaseException) -> str:
    """An exception as one line for a report: at most 200 characters, no token, no request URL (the client's
    errors quote the URL they failed on, with its query)."""
    text = " ".join(str(exc).split())
    text = re.sub(r"(?i)\b(?:https?|wss?)://\S+", "<url>", text)
    text = re.sub(r"(?i)\bbearer\s+\S+", "Bearer <redacted>", text)
    text = re.sub(r"(?i)(authorization|token)[=:]\s*(?!Bearer <redacted>)\S+", r"\1=<redacted>", text)
    text = re.sub(r"\bhf_[A-Za-z0-9]{8,}", "hf_<redacted>", text)
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token and len(token) >= 8:
        text = text.replace(token, "<redacted>")
    return text[:200]


def size_text(n: float) -> str:
    """Bytes as a short size for a message: `300 MB`, `0.25 MB`, `12 KB`."""
    if n >= 100 * 1024 or n == 0:
        return f"{n / MB:.3g} MB"
    return f"{n / 1024:.3g} KB"


# -- bounds on every transfer ----------------------------------------------------------------------------------
class TransferRefused(Exception):
    """A response policycheck stopped reading. The message is one line for a report (no URL, no token)."""


class TooLarge(TransferRefused):
    """The response is (or declares itself) larger than its cap."""


class TooSlow(TransferRefused):
    """The response did not arrive whole before its deadline, or the run ended while it was being read."""


class _Live:
    """One response body being read: its deadline and the socket to shut down when it passes."""

    __slots__ = ("deadline", "sock", "stopped")

    def __init__(self, deadline: float, sock: socket.socket) -> None:
        self.deadline = deadline
        self.sock = sock
        self.stopped: str | None = None

    def stop(self, why: str) -> None:
        self.stopped = why
        with contextlib.suppress(OSError):  # already closed: nothing left to stop
            self.sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """Stops response bodies at their deadline (see the module's docstring), and all of them at `close()`.

    One daemon thread, started with the first body it watches, sleeps until the nearest deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._live: set[_Live] = set()
        self._thread: threading.Thread | None = None
        self.closed = False

    def watch(self, live: _Live) -> None:
        with self._cond:
            if self.closed:
                live.stop("the run ended")
                return
            self._live.add(live)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="policycheck-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def forget(self, live: _Live) -> None:
        with self._cond:
            self._live.discard(live)

    def close(self) -> None:
        """The run is over: stop every body still being read, refuse new requests."""
        with self._cond:
            self.closed = True
            for live in self._live:
                live.stop("the run ended")
            self._live.clear()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self.closed:
                now = time.monotonic()
                for live in [x for x in self._live if x.deadline <= now]:
                    live.stop("deadline")
                    self._live.discard(live)
                nearest = min((x.deadline for x in self._live), default=None)
                self._cond.wait(None if nearest is None else max(0.0, nearest - now))


@dataclass(eq=False)
class Limits:
    """The bounds of the transfers of one `limited(...)` block."""
    what: str  # "README.md of org/name": the start of every message
    deadline: float | None = None  # time.monotonic() by which each response must be in whole
    max_bytes: int | None = None  # the largest body kept
    setting: str = ""  # the option that sets the cap, named in the message
    watchdog: Watchdog | None = None
    answered: bool = False  # a response (any status) arrived: the Hub is up, however slow its body

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_time(self) -> None:
        left = self.left()
        if left is not None and left <= 0:
            raise TooSlow(f"{self.what} did not arrive whole within the deadline")
        if self.watchdog is not None and self.watchdog.closed:
            raise TooSlow(f"{self.what}: not read, the run ended")

    def too_large(self, size: str) -> TooLarge:
        hint = f" ({self.setting})" if self.setting else ""
        return TooLarge(f"{self.what} is larger than {size_text(self.max_bytes or 0)}{size}; not read{hint}")


_CURRENT: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("policycheck_limits", default=None)
_INSTALL = threading.Lock()


@contextlib.contextmanager
def limited(what: str, *, deadline: float | None = None, max_bytes: int | None = None, setting: str = "",
            watchdog: Watchdog | None = None) -> Iterator[Limits]:
    """Hold the client's requests made by this thread inside the block to a deadline (time.monotonic()) and a
    size cap per response. Raises `TooSlow` or `TooLarge` from the client call that exceeds them."""
    _install()
    limits = Limits(what, deadline, max_bytes, setting, watchdog)
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


def _install() -> None:
    """Add the two hooks to the client's shared session (once per session: the client makes a new one after
    `close_session()` or a fork)."""
    from huggingface_hub.utils import get_session

    client = get_session()
    with _INSTALL:
        hooks = client.event_hooks
        if _on_request not in hooks["request"]:
            client.event_hooks = {"request": [*hooks["request"], _on_request],
                                  "response": [*hooks["response"], _on_response]}


def _on_request(request: Any) -> None:
    limits = _CURRENT.get()
    if limits is None:
        return
    limits.check_time()
    if limits.max_bytes is not None:
        request.headers["Accept-Encoding"] = "identity"
    left = limits.left()
    if left is not None:
        timeouts = request.extensions.get("timeout") or {}
        capped = {k: left if timeouts.get(k) is None else min(timeouts[k], left)
                  for k in ("connect", "read", "write", "pool")}
        request.extensions = {**request.extensions, "timeout": capped}


def _on_response(response: Any) -> None:
    limits = _CURRENT.get()
    if limits is None:
        return
    limits.answered = True
    if limits.max_bytes is not None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise TransferRefused(f"{limits.what}: the Hub sent a compressed body ({encoding[:20]}) though "
                                  "none was asked for; its size cannot be bounded")
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limits.max_bytes:
            raise limits.too_large(f" (the Hub declares {size_text(int(declared))})")
    live = None
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if limits.deadline is not None and limits.watchdog is not None and isinstance(sock, socket.socket):
        live = _Live(limits.deadline, sock)
        limits.watchdog.watch(live)
    response.stream = _limited_stream()(response.stream, limits, live)


@functools.cache
def _limited_stream() -> type:
    """The class of a limited body: a subclass of httpx2's byte stream (the client accepts no other), made on
    first use so that importing this module does not import the HTTP stack (offline runs never need it)."""
    import httpx2

    class LimitedStream(httpx2.SyncByteStream):
        """A response body that checks its deadline before each read and counts its bytes against the cap."""

        def __init__(self, inner: Any, limits: Limits, live: _Live | None) -> None:
            self._inner = inner
            self._limits = limits
            self._live = live

        def __iter__(self) -> Iterator[bytes]:
            limits, seen = self._limits, 0
            chunks = iter(self._inner)
            try:
                while True:
                    limits.check_time()
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        return
                    except Exception:
                        if self._live is not None and self._live.stopped:  # the watchdog cut it short
                            limits.check_time()
                            raise TooSlow(f"{limits.what}: not read, {self._live.stopped}") from None
                        raise
                    seen += len(chunk)
                    if limits.max_bytes is not None and seen > limits.max_bytes:
                        raise limits.too_large("")
                    yield chunk
            finally:
                self._forget()

        def close(self) -> None:
            self._forget()
            self._inner.close()

        def _forget(self) -> None:
            if self._live is not None and self._limits.watchdog is not None:
                self._limits.watchdog.forget(self._live)

    return LimitedStream
