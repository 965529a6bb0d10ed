"""Range reads of model file headers: the GGUF metadata that evidence needs, without downloading the weights.

Two parts, each with one job:

- `parse_gguf_header(data)`: pure. Reads a GGUF (v2/v3, little-endian) header prefix and keeps only the keys
  policycheck uses (license, names, architecture, declared base models, source, tokenizer model). Every other
  value is skipped by size, never materialised: a 150,000-entry `tokenizer.ggml.tokens` array costs a walk
  over its length prefixes, not a list. Hostile input is bounded (kv count, key and string lengths, array
  counts, nesting) and every failure is a `HeaderError` with a clear message. When the data ends before the
  last KV pair, `HeaderTruncated` says how many bytes are needed at least, so a reader can ask for more.
  GGUF metadata is sequential, so the pairs read before a refusal are sound: every `HeaderError` raised
  inside the metadata carries them as `partial` (a `GgufHeader` with `complete=False`), so that evidence is
  not dropped because something after it was refused (a 70 KB key, a 9 MiB array, arrays nested too deep).
- `read_gguf_header(repo_id, filename, revision)`: I/O through `huggingface_hub` only (its shared HTTP
  session, `hf_hub_url`, `build_hf_headers`, `hf_raise_for_status`), with `Range:` requests for a prefix
  of the file that grows (doubling) up to a limit. It honours `HF_ENDPOINT` and `HF_TOKEN` as the client
  does, reads at most the bytes it asked for even from a server that ignores `Range`, holds every request to
  one total deadline (policy.scan.hubclient: timeouts capped by what is left, a check before each read, a
  watchdog for a read blocked past it), and turns network and HTTP failures into a one-line `HeaderError` (no
  tokens), with the pairs of the last prefix read as `partial`.
"""

from __future__ import annotations

import random
import re
import struct
import time
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from policy.records import record
from policy.scan.hubclient import HubOptions, TooSlow, TransferRefused, Watchdog, limited
from policy.scan.hubclient import prepare_environment as _prepare_environment
from policy.scan.hubclient import quiet_client as _quiet_client

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_KV_COUNT = 100_000
MAX_KEY_BYTES = 64 * 1024  # a key longer than this is not a GGUF key: rejected
MAX_KEPT_STRING = 64 * 1024  # kept strings longer than this are cut (and the key is listed in `cut`)
MAX_STRING_BYTES = 256 * 1024 * 1024  # any one string (skipped or kept) longer than this: rejected
MAX_ARRAY_COUNT = 1 << 28  # any one array with more elements than this: rejected
MAX_ARRAY_DEPTH = 3  # arrays of arrays of arrays, no deeper
MAX_BASE_MODELS = 256  # general.base_model.{i}.* kept for i below this

# value types
T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STRING, T_ARRAY, T_U64, T_I64, T_F64 = range(13)
_SCALARS: dict[int, tuple[str, int]] = {
    T_U8: ("<B", 1), T_I8: ("<b", 1), T_U16: ("<H", 2), T_I16: ("<h", 2), T_U32: ("<I", 4), T_I32: ("<i", 4),
    T_F32: ("<f", 4), T_BOOL: ("<B", 1), T_U64: ("<Q", 8), T_I64: ("<q", 8), T_F64: ("<d", 8),
}
_INTEGERS = frozenset({T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_U64, T_I64})

STRING_KEYS = frozenset({
    "general.license", "general.license.name", "general.license.link", "general.name", "general.basename",
    "general.architecture", "general.source.url", "general.source.huggingface.repository",
    "tokenizer.ggml.model",
})
BASE_MODEL_COUNT = "general.base_model.count"
_BASE_MODEL_KEY = re.compile(r"general\.base_model\.(\d{1,6})\.(name|organization|repo_url|version)")


class HeaderError(ValueError):
    """A header that cannot be read: not a GGUF file, an unsupported version, corrupt or hostile data, or the
    Hub could not serve the bytes. The message is one line and carries no secrets."""

    def __init__(self, message: str, *, status: int | None = None, partial: GgufHeader | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the Hub answered one
        self.partial = partial  # the metadata read before the failure (complete=False), when there was any


class HeaderTruncated(HeaderError):
    """The data ended before the header did (a partial range read): `needed` bytes at least are required."""

    def __init__(self, offset: int, needed: int) -> None:
        super().__init__(f"GGUF header truncated at byte {offset} (needs at least {needed} bytes)")
        self.offset = offset
        self.needed = needed


@record
class GgufBaseModel:
    index: int
    name: str | None = None
    organization: str | None = None
    repo_url: str | None = None
    version: str | None = None


@record
class GgufHeader:
    version: int
    tensor_count: int
    kv_count: int
    header_bytes: int  # where the KV section ends (the tensor infos start there)
    license: str | None = None
    license_name: str | None = None
    license_link: str | None = None
    name: str | None = None
    basename: str | None = None
    architecture: str | None = None
    source_url: str | None = None
    source_repository: str | None = None
    tokenizer_model: str | None = None
    base_model_count: int | None = None
    base_models: tuple[GgufBaseModel, ...] = ()
    cut: tuple[str, ...] = ()  # kept keys whose strings were longer than MAX_KEPT_STRING and were cut
    ignored: tuple[str, ...] = ()  # kept keys with a value of the wrong type (left out)
    values: Mapping[str, Any] = field(default_factory=dict)  # every kept key -> its value, as read
    complete: bool = True  # False: only the pairs before a refusal or the end of the data read (kv_count = them)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version, "tensor_count": self.tensor_count, "kv_count": self.kv_count,
            "header_bytes": self.header_bytes, "license": self.license, "license_name": self.license_name,
            "license_link": self.license_link, "name": self.name, "basename": self.basename,
            "architecture": self.architecture, "source_url": self.source_url,
            "source_repository": self.source_repository, "tokenizer_model": self.tokenizer_model,
            "base_model_count": self.base_model_count,
            "base_models": [vars(b).copy() for b in self.base_models],
            "cut": list(self.cut), "ignored": list(self.ignored), "values": dict(self.values),
            "complete": self.complete,
        }


# -- the pure parser ---------------------------------------------------------------------------------------
class _Reader:
    __slots__ = ("data", "end", "file_size", "pos")

    def __init__(self, data: bytes, file_size: int | None) -> None:
        self.data = memoryview(data)
        self.end = len(data)
        self.file_size = file_size
        self.pos = 0

    def need(self, n: int) -> None:
        """`n` more bytes must be there; else the data (or, with a known file size, the file) is too short."""
        if self.pos + n > self.end:
            needed = self.pos + n
            if self.file_size is not None and needed > self.file_size:
                raise HeaderError(f"GGUF header truncated at byte {self.pos}: it needs at least {needed} bytes, "
                                  f"the file has {self.file_size}")
            raise HeaderTruncated(self.pos, needed)

    def scalar(self, fmt: str, size: int) -> Any:
        self.need(size)
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def u32(self) -> int:
        return int(self.scalar("<I", 4))

    def u64(self) -> int:
        return int(self.scalar("<Q", 8))

    def string_length(self, bound: int, what: str) -> int:
        at = self.pos
        length = self.u64()
        if length > bound:
            raise HeaderError(f"{what} at byte {at} claims {length} bytes (more than the bound of {bound})")
        return length

    def skip(self, n: int) -> None:
        self.need(n)
        self.pos += n

    def text(self, length: int, keep: int) -> tuple[str, bool]:
        """The next `length` bytes as text, cut to `keep` bytes (never splitting a character badly)."""
        self.need(length)
        raw = bytes(self.data[self.pos:self.pos + min(length, keep)])
        self.pos += length
        return raw.decode("utf-8", errors="ignore" if length > keep else "replace"), length > keep


def _skip_value(r: _Reader, vtype: int, depth: int) -> None:
    if vtype in _SCALARS:
        r.skip(_SCALARS[vtype][1])
    elif vtype == T_STRING:
        r.skip(r.string_length(MAX_STRING_BYTES, "string"))
    elif vtype == T_ARRAY:
        _skip_array(r, depth + 1)
    else:
        raise HeaderError(f"unknown GGUF value type {vtype} at byte {r.pos - 4}")


def _skip_array(r: _Reader, depth: int) -> None:
    at = r.pos
    if depth > MAX_ARRAY_DEPTH:
        raise HeaderError(f"GGUF arrays nested deeper than {MAX_ARRAY_DEPTH} at byte {at}")
    etype = r.u32()
    count = r.u64()
    if count > MAX_ARRAY_COUNT:
        raise HeaderError(f"GGUF array at byte {at} claims {count} elements (more than the bound of "
                          f"{MAX_ARRAY_COUNT})")
    if etype in _SCALARS:
        r.skip(count * _SCALARS[etype][1])
    elif etype == T_STRING:
        r.need(count * 8)  # each element has at least its length: the loop below is bounded by the data
        for _ in range(count):
            r.skip(r.string_length(MAX_STRING_BYTES, "string"))
    elif etype == T_ARRAY:
        r.need(count * 12)  # each element has at least its type and count
        for _ in range(count):
            _skip_array(r, depth + 1)
    else:
        raise HeaderError(f"unknown GGUF array element type {etype} at byte {at}")


def parse_gguf_header(data: bytes, *, file_size: int | None = None) -> GgufHeader:
    """Parse the metadata of a GGUF file from a prefix of its bytes.

    Raises `HeaderTruncated` (with `.needed`) when `data` ends inside the header, and `HeaderError` for
    anything that is not a readable GGUF v2/v3 header. With `file_size` (the size of the whole file, when
    known), a header that would run past the end of the file is a plain `HeaderError`."""
    r = _Reader(data, file_size)
    r.need(4)
    if bytes(r.data[:4]) != GGUF_MAGIC:
        raise HeaderError(f"not a GGUF file (magic {bytes(r.data[:4])!r}, expected b'GGUF')")
    r.pos = 4
    version = r.u32()
    if version not in SUPPORTED_VERSIONS:
        raise HeaderError(f"unsupported GGUF version {version} (supported: 2 and 3)")
    tensor_count = r.u64()
    kv_count = r.u64()
    if kv_count > MAX_KV_COUNT:
        raise HeaderError(f"GGUF header claims {kv_count} metadata entries (more than the bound of {MAX_KV_COUNT})")
    r.need(kv_count * 12)  # each pair has at least a key length and a value type

    values: dict[str, Any] = {}
    cut: list[str] = []
    ignored: list[str] = []
    pairs, end = 0, r.pos  # the pairs read whole, and where the last of them ends
    try:
        for _ in range(kv_count):
            key_at = r.pos
            key_len = r.string_length(MAX_KEY_BYTES, "key")
            key, _ = r.text(key_len, key_len)
            vtype = r.u32()
            base = _BASE_MODEL_KEY.fullmatch(key)
            kept = key in STRING_KEYS or (base is not None and int(base.group(1)) < MAX_BASE_MODELS)
            if kept and vtype == T_STRING:
                length = r.string_length(MAX_STRING_BYTES, f"value of {key}")
                text, was_cut = r.text(length, MAX_KEPT_STRING)
                values[key] = text
                if was_cut:
                    cut.append(key)
            elif key == BASE_MODEL_COUNT and vtype in _INTEGERS:
                values[key] = int(r.scalar(*_SCALARS[vtype]))
            else:
                try:
                    _skip_value(r, vtype, 0)
                except HeaderTruncated:
                    raise
                except HeaderError as exc:
                    raise HeaderError(f"{exc} (in the value of '{key[:80]}', the pair at byte {key_at})") from None
                if kept or key == BASE_MODEL_COUNT:
                    ignored.append(key)
            pairs, end = pairs + 1, r.pos
    except HeaderError as exc:  # what came before is sound: keep it with the error
        exc.partial = _header(version, tensor_count, pairs, end, values, cut, ignored, complete=False)
        raise
    return _header(version, tensor_count, kv_count, r.pos, values, cut, ignored, complete=True)


def _header(version: int, tensor_count: int, kv_count: int, header_bytes: int, values: dict[str, Any],
            cut: list[str], ignored: list[str], *, complete: bool) -> GgufHeader:
    bases: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        match = _BASE_MODEL_KEY.fullmatch(key)
        if match:
            bases.setdefault(int(match.group(1)), {})[match.group(2)] = value
    count = values.get(BASE_MODEL_COUNT)
    return GgufHeader(
        version=version, tensor_count=tensor_count, kv_count=kv_count, header_bytes=header_bytes,
        license=values.get("general.license"), license_name=values.get("general.license.name"),
        license_link=values.get("general.license.link"), name=values.get("general.name"),
        basename=values.get("general.basename"), architecture=values.get("general.architecture"),
        source_url=values.get("general.source.url"),
        source_repository=values.get("general.source.huggingface.repository"),
        tokenizer_model=values.get("tokenizer.ggml.model"),
        base_model_count=count if isinstance(count, int) else None,
        base_models=tuple(GgufBaseModel(index=i, **bases[i]) for i in sorted(bases)),
        cut=tuple(cut), ignored=tuple(ignored), values=dict(values), complete=complete,
    )


# -- the range reader ---------------------------------------------------------------------------------------
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def read_gguf_header(repo_id: str, filename: str, revision: str | None, options: HubOptions | None = None, *,
                     first: int = 256 * 1024, limit: int = 8 * 1024 * 1024, repo_type: str = "model",
                     deadline: float | None = None, watchdog: Watchdog | None = None) -> GgufHeader:
    """The GGUF header of `filename` in a Hub repo, read with `Range:` requests (never the whole file).

    Reads bytes `0..first-1`; while the header goes on past them, asks for the next bytes up to double the
    prefix (or what the parser says it needs at least), up to `limit` bytes in all, all of it by `deadline`
    (a time.monotonic(); by default `options.deadline` seconds from now), which `watchdog` enforces on a read
    blocked past it. Every failure is a `HeaderError`: an unreadable header, a header larger than `limit`, a
    file the Hub does not serve (missing, gated, private), a network failure after the retries HubOptions
    allows, or the deadline; with the pairs read before it as `partial` when there were any."""
    options = options or HubOptions.from_env()
    if options.offline:
        raise HeaderError(f"{filename} of {repo_id}: header not readable offline")
    if first <= 0 or limit < first:
        raise ValueError("need 0 < first <= limit")
    _prepare_environment(options)
    _quiet_client()
    from huggingface_hub import constants, hf_hub_url
    from huggingface_hub.utils import build_hf_headers

    url = hf_hub_url(repo_id, filename, repo_type=repo_type, revision=revision, endpoint=constants.ENDPOINT)
    headers = build_hf_headers()
    what = f"{filename} of {repo_id}"
    deadline = time.monotonic() + options.deadline if deadline is None else deadline
    data = b""
    file_size: int | None = None
    want = first
    partial: GgufHeader | None = None  # the pairs of the prefix read so far
    while True:
        if file_size is not None:
            want = min(want, file_size)
        if want > len(data):
            try:
                chunk, total, from_start = _get_range(url, headers, len(data), want - 1, options, deadline, what,
                                                      watchdog)
            except HeaderError as exc:
                exc.partial = partial
                raise
            data = chunk if from_start else data + chunk
            file_size = total if total is not None else file_size
            if len(data) < want:  # the server sent less than asked: the file ends here (no request repeats)
                file_size = len(data)
        try:
            return parse_gguf_header(data, file_size=file_size)
        except HeaderTruncated as exc:
            partial = exc.partial
            if exc.needed > limit or len(data) >= limit:
                raise HeaderError(f"{what}: GGUF header larger than the read limit of {limit} bytes (needs at "
                                  f"least {exc.needed})", partial=partial) from None
            want = min(limit, max(2 * len(data), exc.needed))
        except HeaderError as exc:
            raise HeaderError(f"{what}: {exc}", partial=exc.partial) from None


def _get_range(url: str, headers: Mapping[str, str], start: int, end: int, options: HubOptions,
               deadline: float, what: str, watchdog: Watchdog | None) -> tuple[bytes, int | None, bool]:
    """Bytes `start..end` (inclusive) of `url`, the file's size when the server says, and whether the bytes
    start at 0 (a server that ignores `Range` answers 200 with the whole file: only the bytes asked for are
    read from it, then the connection is closed). Held to `deadline` (policy.scan.hubclient.limited): no
    size cap there, since this reads only what it asked for."""
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import get_session, hf_raise_for_status

    last = ""
    for attempt in range(max(1, options.attempts)):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        wait = _backoff(options, attempt)
        try:
            with limited(what, deadline=deadline, watchdog=watchdog), get_session().stream(
                    "GET", url, headers={**headers, "range": f"bytes={start}-{end}", "accept-encoding": "identity"},
                    timeout=max(0.2, min(options.timeout, remaining))) as response:
                status = response.status_code
                if status == 416:  # the file is shorter than `start`: it ends there
                    return b"", start, False
                if status in _RETRY_STATUS:
                    last = f"the Hub answered {status} on {what}"
                    if status == 429:
                        wait = _retry_after(response.headers)
                        if wait > options.max_wait:
                            raise HeaderError(f"{last}; the Hub asks to wait {wait:.0f} s", status=status)
                else:
                    hf_raise_for_status(response)
                    if status == 206:
                        begin, total = _content_range(response.headers.get("content-range", ""))
                        if begin != start:
                            raise HeaderError(f"{what}: the Hub answered a range from byte {begin}, asked {start}")
                        want, from_start = end - start + 1, False
                    else:  # 200: the whole file from byte 0
                        total = _int(response.headers.get("content-length"))
                        want, from_start = end + 1, True
                    return _read_at_most(response, want, deadline, what), total, from_start
        except HeaderError:
            raise
        except TooSlow:
            raise HeaderError(f"{what}: the Hub sent the header too slowly (the deadline passed)") from None
        except TransferRefused as exc:
            raise HeaderError(str(exc)) from None
        except GatedRepoError as exc:
            raise HeaderError(f"{what}: gated repo, the file is not readable without access",
                              status=_status(exc)) from None
        except RevisionNotFoundError as exc:
            raise HeaderError(f"{what}: revision not found", status=_status(exc)) from None
        except RemoteEntryNotFoundError as exc:
            raise HeaderError(f"{what}: file not found in the repo", status=_status(exc)) from None
        except RepositoryNotFoundError as exc:
            raise HeaderError(f"{what}: repo not found on the Hub (or private without access)",
                              status=_status(exc)) from None
        # (the words are for documents: the exception's own text, which quotes the request URL, is left out)
        except HfHubHTTPError as exc:
            raise HeaderError(f"{what}: the Hub answered {_status(exc)}", status=_status(exc)) from None
        except httpx2.ConnectError:
            raise HeaderError(f"{what}: cannot connect to the Hub") from None
        except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError):
            last = f"no answer from the Hub for {what} within {options.timeout:g} s"
        except httpx2.HTTPError:
            raise HeaderError(f"{what}: the request to the Hub failed") from None
        if attempt < options.attempts - 1:
            if time.monotonic() + wait >= deadline:
                break
            time.sleep(wait)
    raise HeaderError(f"{last or f'no answer for {what}'}; gave up (attempts {options.attempts}, "
                      f"deadline {options.deadline:g} s)")


def _read_at_most(response: Any, n: int, deadline: float, what: str) -> bytes:
    """The first `n` bytes of the body, each piece as the socket gives it (at most 64 KiB): the deadline is
    checked after every read, not after every 64 KiB a dripping server may take hours to send."""
    parts: list[bytes] = []
    have = 0
    for chunk in response.iter_bytes():
        parts.append(chunk[:n - have])
        have += len(parts[-1])
        if have >= n:
            break
        if time.monotonic() > deadline:
            raise HeaderError(f"{what}: the Hub sent the header too slowly (the deadline passed)")
    return b"".join(parts)


def _content_range(value: str) -> tuple[int, int | None]:
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if not match:
        raise HeaderError(f"bad Content-Range {value[:60]!r}")
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _status(exc: Any) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _backoff(options: HubOptions, attempt: int) -> float:
    return min(8.0, options.backoff * (2**attempt) * (0.8 + 0.4 * random.random()))


def _retry_after(headers: Mapping[str, str]) -> float:
    match = re.search(r"\bt=(\d+(?:\.\d+)?)", headers.get("ratelimit", "") or "")
    if match:
        return float(match.group(1)) + 1
    try:
        return float(headers.get("retry-after", 1))
    except ValueError:
        return 1.0
