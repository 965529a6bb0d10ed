"""GGUF header parsing (pure) and range reads through the real huggingface_hub client against hubsim.

The GGUF files are written here by a small writer (valid v3 bytes), so every test knows the exact layout. The
client reads HF_* at import, so the Hub reads run in a subprocess (`run_client_json`)."""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest

from policy.scan.headers import (
    MAX_KEPT_STRING,
    HeaderError,
    HeaderTruncated,
    parse_gguf_header,
)
from tests.hubsim import HubSim, make_card
from tests.hubsim.plugin import run_client_json

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B", U64: "<Q",
        I64: "<q", F64: "<d"}


# -- a small GGUF writer -----------------------------------------------------------------------------------
def gstr(text: str | bytes) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def gvalue(vtype: int, value: Any) -> bytes:
    if vtype == STRING:
        return gstr(value)
    if vtype == ARRAY:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(gvalue(etype, v) for v in items)
    return struct.pack(_FMT[vtype], value)


def gguf(kvs: list[tuple[str, int, Any]], *, version: int = 3, tensor_count: int = 0, tail: bytes = b"",
         kv_count: int | None = None) -> bytes:
    head = b"GGUF" + struct.pack("<IQQ", version, tensor_count, len(kvs) if kv_count is None else kv_count)
    body = b"".join(gstr(k) + struct.pack("<I", t) + gvalue(t, v) for k, t, v in kvs)
    return head + body + tail


TOKENS = [f"<tok_{i:05d}>" for i in range(50_000)]  # ~700 KB of strings: the header is past 256 KB

KVS: list[tuple[str, int, Any]] = [
    ("general.architecture", STRING, "llama"),
    ("general.name", STRING, "M 8B Instruct"),
    ("general.basename", STRING, "M"),
    ("general.license", STRING, "llama3.1"),
    ("general.license.link", STRING, "https://llama.meta.com/llama3_1/license/"),
    ("general.base_model.count", U32, 1),
    ("general.base_model.0.name", STRING, "Llama 3.1 8B Instruct"),
    ("general.base_model.0.organization", STRING, "Meta Llama"),
    ("general.base_model.0.repo_url", STRING, "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"),
    ("llama.context_length", U32, 131072),
    ("llama.rope.freq_base", F32, 500000.0),
    ("general.file_type", U32, 15),
    ("tokenizer.ggml.model", STRING, "gpt2"),
    ("tokenizer.ggml.tokens", ARRAY, (STRING, TOKENS)),
    ("tokenizer.ggml.token_type", ARRAY, (I32, [1] * 50_000)),
    ("tokenizer.ggml.add_bos_token", BOOL, 1),
    ("tokenizer.chat_template", STRING, "{% for m in messages %}{{ m.content }}{% endfor %}"),
    ("general.quantization_version", U32, 2),
]
TENSOR_REGION = b"\x00" * 32 + b"\xab" * (12 * 1024 * 1024)  # stands in for tensor infos and data


@pytest.fixture(scope="module")
def model_file() -> bytes:
    return gguf(KVS, tensor_count=291, tail=TENSOR_REGION)


@pytest.fixture(scope="module")
def header_size(model_file: bytes) -> int:
    return parse_gguf_header(model_file).header_bytes


# -- the parser --------------------------------------------------------------------------------------------
def test_values_kept_and_the_rest_skipped(model_file: bytes, header_size: int) -> None:
    header = parse_gguf_header(model_file)
    assert (header.version, header.tensor_count, header.kv_count) == (3, 291, len(KVS))
    assert header.license == "llama3.1"
    assert header.license_link == "https://llama.meta.com/llama3_1/license/"
    assert header.license_name is None
    assert (header.name, header.basename, header.architecture) == ("M 8B Instruct", "M", "llama")
    assert header.tokenizer_model == "gpt2"
    assert header.base_model_count == 1
    assert len(header.base_models) == 1
    base = header.base_models[0]
    assert (base.index, base.name, base.organization) == (0, "Llama 3.1 8B Instruct", "Meta Llama")
    assert base.repo_url == "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
    assert base.version is None
    assert header.header_bytes == len(model_file) - len(TENSOR_REGION) == header_size
    assert header_size > 256 * 1024
    # nothing else is stored: not the tokens, not the chat template
    assert "tokenizer.ggml.tokens" not in header.values and "tokenizer.chat_template" not in header.values
    assert set(header.values) <= {k for k, _, _ in KVS}
    assert header.cut == () and header.ignored == ()
    assert header.to_dict()["base_models"][0]["organization"] == "Meta Llama"


def test_version_2_and_source_keys() -> None:
    data = gguf([("general.source.url", STRING, "https://example.org/m"),
                 ("general.source.huggingface.repository", STRING, "acme/m"),
                 ("general.license.name", STRING, "Acme Community License"),
                 ("general.base_model.count", U64, 2),
                 ("general.base_model.1.name", STRING, "B"), ("general.base_model.1.version", STRING, "v2"),
                 ("general.base_model.0.name", STRING, "A")], version=2)
    header = parse_gguf_header(data)
    assert header.version == 2
    assert header.source_url == "https://example.org/m" and header.source_repository == "acme/m"
    assert header.license_name == "Acme Community License"
    assert header.base_model_count == 2
    assert [(b.index, b.name, b.version) for b in header.base_models] == [(0, "A", None), (1, "B", "v2")]


def test_truncated_prefix_says_how_much_is_needed(model_file: bytes, header_size: int) -> None:
    prefix = model_file[:256 * 1024]
    with pytest.raises(HeaderTruncated) as info:
        parse_gguf_header(prefix)
    assert len(prefix) < info.value.needed <= header_size
    assert "truncated at byte" in str(info.value)
    assert isinstance(info.value, HeaderError) and isinstance(info.value, ValueError)
    # growing the prefix as a reader would ends with the full header, never needing more than its size
    size, rounds = len(prefix), 0
    while True:
        try:
            header = parse_gguf_header(model_file[:size])
            break
        except HeaderTruncated as exc:
            assert exc.needed <= header_size
            size, rounds = max(2 * size, exc.needed), rounds + 1
    assert header.license == "llama3.1" and rounds == 3  # 256 KB -> 512 KB -> 1 MB -> 2 MB


@pytest.mark.parametrize("cut", [0, 3, 10, 23, 30, 60])
def test_tiny_prefixes_are_truncated_not_errors(model_file: bytes, cut: int) -> None:
    with pytest.raises(HeaderTruncated) as info:
        parse_gguf_header(model_file[:cut])
    assert info.value.needed > cut


def test_truncated_file_with_known_size_is_an_error(model_file: bytes, header_size: int) -> None:
    short = model_file[:header_size - 100]
    with pytest.raises(HeaderError) as info:
        parse_gguf_header(short, file_size=len(short))
    assert not isinstance(info.value, HeaderTruncated)
    assert "truncated at byte" in str(info.value) and f"the file has {len(short)}" in str(info.value)


def test_not_a_gguf_file() -> None:
    with pytest.raises(HeaderError, match="not a GGUF file"):
        parse_gguf_header(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(HeaderError, match="not a GGUF file"):
        parse_gguf_header(b'{"__metadata__": {}}' + b" " * 64)


@pytest.mark.parametrize("version", [0, 1, 4, 0xFFFFFFFF])
def test_unsupported_version(version: int) -> None:
    with pytest.raises(HeaderError, match="unsupported GGUF version"):
        parse_gguf_header(gguf([("general.license", STRING, "mit")], version=version))


def _fast(fn: Any) -> HeaderError:
    start = time.perf_counter()
    with pytest.raises(HeaderError) as info:
        fn()
    assert time.perf_counter() - start < 1.0
    return info.value


def test_hostile_counts_and_lengths_rejected_fast() -> None:
    exc = _fast(lambda: parse_gguf_header(gguf([], kv_count=2**64 - 1)))
    assert "metadata entries" in str(exc) and not isinstance(exc, HeaderTruncated)
    exc = _fast(lambda: parse_gguf_header(gguf([], kv_count=100_001)))
    assert "bound" in str(exc)
    # kv count within the bound but far more pairs than bytes: truncated, judged before any pair is read
    exc = _fast(lambda: parse_gguf_header(gguf([("general.license", STRING, "mit")], kv_count=100_000)))
    assert isinstance(exc, HeaderTruncated) and exc.needed >= 24 + 100_000 * 12
    # a key that claims 2**63 bytes
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
    exc = _fast(lambda: parse_gguf_header(head + struct.pack("<Q", 2**63) + b"x" * 64))
    assert "key at byte 24" in str(exc)
    # a skipped string value that claims 2**62 bytes
    exc = _fast(lambda: parse_gguf_header(head + gstr("x.y") + struct.pack("<IQ", STRING, 2**62)))
    assert "bound" in str(exc) and "x.y" in str(exc)
    # a kept string value that claims 2**62 bytes
    exc = _fast(lambda: parse_gguf_header(head + gstr("general.license") + struct.pack("<IQ", STRING, 2**62)))
    assert "bound" in str(exc)
    # an array that claims 2**63 elements, of scalars and of strings
    for etype in (U8, STRING, ARRAY):
        exc = _fast(lambda etype=etype: parse_gguf_header(
            head + gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", ARRAY, etype, 2**63)))
        assert "elements" in str(exc)
    # an array count within the bound but larger than the data: truncated with the minimum it would need
    exc = _fast(lambda: parse_gguf_header(head + gstr("a") + struct.pack("<IIQ", ARRAY, STRING, 10_000_000)))
    assert isinstance(exc, HeaderTruncated) and exc.needed >= 80_000_000
    # unknown types
    exc = _fast(lambda: parse_gguf_header(head + gstr("a") + struct.pack("<I", 13) + b"\x00" * 16))
    assert "unknown GGUF value type 13" in str(exc)
    exc = _fast(lambda: parse_gguf_header(head + gstr("a") + struct.pack("<IIQ", ARRAY, 99, 1) + b"\0" * 8))
    assert "element type 99" in str(exc)


def test_array_nesting_is_bounded() -> None:
    three = (ARRAY, [(ARRAY, [(U8, [1, 2])])])  # array of array of array of u8
    assert parse_gguf_header(gguf([("deep", ARRAY, three), ("general.license", STRING, "mit")])).license == "mit"
    four = (ARRAY, [(ARRAY, [(ARRAY, [(U8, [1])])])])
    with pytest.raises(HeaderError, match="nested deeper than 3"):
        parse_gguf_header(gguf([("deeper", ARRAY, four)]))


def test_long_kept_strings_are_cut_and_wrong_types_ignored() -> None:
    data = gguf([("general.license", STRING, "a" * (MAX_KEPT_STRING + 5000)),
                 ("general.name", U32, 7), ("general.base_model.count", STRING, "one"),
                 ("general.architecture", STRING, b"ll\xffama")])
    header = parse_gguf_header(data)
    assert header.license == "a" * MAX_KEPT_STRING
    assert header.cut == ("general.license",)
    assert header.name is None and header.base_model_count is None
    assert header.ignored == ("general.name", "general.base_model.count")
    assert header.architecture == "ll\ufffdama"


def test_no_allocation_beyond_the_data() -> None:
    """A huge (bounded) array count over a few bytes is never materialised: the check is arithmetic."""
    import tracemalloc

    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("a") + struct.pack("<IIQ", ARRAY, U64, 2**27)
    tracemalloc.start()
    with pytest.raises(HeaderTruncated):
        parse_gguf_header(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 1024


# -- range reads through the real client against hubsim ----------------------------------------------------
READ = """
import json
from policy.scan.headers import HeaderError, read_gguf_header
from policy.scan.hub import HubOptions
try:
    header = read_gguf_header({repo!r}, {filename!r}, {revision!r}, HubOptions.from_env(), **{kwargs!r})
    print(json.dumps({{"header": header.to_dict()}}))
except HeaderError as exc:
    print(json.dumps({{"error": str(exc), "status": exc.status}}))
"""
FAST = {"POLICYCHECK_HUB_TIMEOUT": "5", "POLICYCHECK_HUB_ATTEMPTS": "2", "POLICYCHECK_HUB_MAX_WAIT": "5",
        "POLICYCHECK_HUB_BACKOFF": "0.1"}
REPO, FILE = "acme/m-GGUF", "m.Q4_K_M.gguf"


def read(env: dict[str, str], repo: str = REPO, filename: str = FILE, revision: str | None = None,
         **kwargs: Any) -> dict[str, Any]:
    script = READ.format(repo=repo, filename=filename, revision=revision, kwargs=kwargs)
    return run_client_json(script, {**env, **FAST}, timeout=120)


def serve(hub: HubSim, data: bytes, **meta: Any) -> None:
    hub.add_model(REPO, {"README.md": make_card({"license": "llama3.1", "base_model": "meta-llama/Llama-3.1-8B"}),
                         FILE: data}, **meta)


def _range_bytes(value: str) -> int:
    start, end = value.removeprefix("bytes=").split("-")
    return int(end) - int(start) + 1


def test_hub_header_read_with_growing_ranges(hubsim: HubSim, hub_env: dict[str, str], model_file: bytes,
                                             header_size: int) -> None:
    serve(hubsim, model_file)
    hubsim.clear_log()
    out = read(hub_env)
    assert "header" in out, out
    header = out["header"]
    assert header["license"] == "llama3.1"
    assert header["base_model_count"] == 1
    assert header["base_models"][0]["repo_url"] == "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
    assert header["base_models"][0]["organization"] == "Meta Llama"
    assert header["tokenizer_model"] == "gpt2"

    path = f"/{REPO}/resolve/main/{FILE}"
    reqs = [r for r in hubsim.requests if r.path == path]
    assert reqs and len(reqs) == len(hubsim.requests)  # nothing but the file's ranges
    assert all(r.method == "GET" and r.status == 206 and "range" in r.headers for r in reqs)
    assert reqs[0].headers["range"] == f"bytes=0-{256 * 1024 - 1}"
    assert len(reqs) >= 2  # the header is past 256 KB: the range had to grow
    total = sum(_range_bytes(r.headers["range"]) for r in reqs)
    assert header_size <= total <= 2 * header_size
    assert total < len(model_file) / 4  # far below the file: no full download


def test_hub_header_read_pinned_to_a_revision(hubsim: HubSim, hub_env: dict[str, str], model_file: bytes) -> None:
    serve(hubsim, model_file)
    sha = hubsim.repo(REPO).sha
    hubsim.clear_log()
    out = read(hub_env, revision=sha)
    assert out["header"]["license"] == "llama3.1"
    assert {r.path for r in hubsim.requests} == {f"/{REPO}/resolve/{sha}/{FILE}"}


def test_hub_header_larger_than_the_limit(hubsim: HubSim, hub_env: dict[str, str], model_file: bytes) -> None:
    serve(hubsim, model_file)
    hubsim.clear_log()
    out = read(hub_env, first=64 * 1024, limit=300 * 1024)
    assert "larger than the read limit of 307200 bytes" in out["error"]
    assert sum(_range_bytes(r.headers["range"]) for r in hubsim.requests) <= 300 * 1024


def test_hub_small_file_and_bad_file(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    small = gguf([("general.license", STRING, "apache-2.0")], tail=b"\x00" * 100)
    hubsim.add_model("acme/small-GGUF", {"README.md": make_card({"license": "apache-2.0"}), "s.gguf": small,
                                         "bad.gguf": b"not a gguf file at all",
                                         "short.gguf": small[:30]})
    assert read(hub_env, "acme/small-GGUF", "s.gguf")["header"]["license"] == "apache-2.0"
    assert "not a GGUF file" in read(hub_env, "acme/small-GGUF", "bad.gguf")["error"]
    err = read(hub_env, "acme/small-GGUF", "short.gguf")["error"]
    assert "truncated at byte" in err and "the file has 30" in err


def test_hub_errors_are_one_line_without_tokens(hubsim: HubSim, hub_env: dict[str, str],
                                                model_file: bytes) -> None:
    serve(hubsim, model_file, gated="manual")
    env = {**hub_env, "HF_TOKEN": "hf_secretsecretsecret123"}
    out = read(env)
    assert "gated" in out["error"] and out["status"] == 403
    assert "hf_secret" not in out["error"] and "\n" not in out["error"]
    hubsim.granted_tokens.add("hf_secretsecretsecret123")
    assert read(env)["header"]["license"] == "llama3.1"
    assert all(r.headers.get("authorization") == "Bearer hf_secretsecretsecret123" for r in hubsim.requests)

    hubsim.remove(REPO)
    serve(hubsim, model_file)
    out = read(hub_env, filename="nope.gguf")
    assert "file not found" in out["error"]
    out = read(hub_env, repo="acme/absent")
    assert "repo not found" in out["error"]
    out = read(hub_env, revision="no-such-branch")
    assert "revision not found" in out["error"]


def test_hub_retries_a_503_then_gives_up_in_one_line(hubsim: HubSim, hub_env: dict[str, str],
                                                     model_file: bytes) -> None:
    serve(hubsim, model_file)
    hubsim.faults.status(503, path=FILE, times=1)
    assert read(hub_env)["header"]["license"] == "llama3.1"
    hubsim.faults.clear()
    hubsim.faults.status(503, path=FILE)
    hubsim.clear_log()
    out = read(hub_env)
    assert "503" in out["error"] and "gave up" in out["error"]
    assert len(hubsim.requests) == 2  # POLICYCHECK_HUB_ATTEMPTS


def test_hub_offline_reads_nothing(hubsim: HubSim, hub_env: dict[str, str], model_file: bytes) -> None:
    serve(hubsim, model_file)
    hubsim.clear_log()
    out = read({**hub_env, "HF_HUB_OFFLINE": "1"})
    assert "offline" in out["error"]
    assert hubsim.requests == []


# -- a header refused part way: what came before it is kept (GGUF metadata is sequential) -----------------------
CONTRADICTING = [("general.architecture", STRING, "llama"), ("general.license", STRING, "llama3.1"),
                 ("general.base_model.count", U32, 1),
                 ("general.base_model.0.repo_url", STRING, "https://huggingface.co/meta-llama/Llama-3.1-8B")]


def _after(kvs: list[tuple[str, int, Any]], raw_pair: bytes, more: int = 1) -> bytes:
    """A v3 header with `kvs`, then one hand-written pair (`raw_pair`), claiming `more` further pairs."""
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs) + 1 + more)
    return head + b"".join(gstr(k) + struct.pack("<I", t) + gvalue(t, v) for k, t, v in kvs) + raw_pair


def _nested(depth: int) -> bytes:
    inner = struct.pack("<IQ", U8, 1) + b"\x00"
    for _ in range(depth - 1):
        inner = struct.pack("<IQ", ARRAY, 1) + inner
    return inner


HOSTILE_TAILS = {
    # an array of 9 MiB of u8 (the header is then larger than the 8 MiB read limit)
    "a 9 MiB array": gstr("tokenizer.ggml.scores") + struct.pack("<IIQ", ARRAY, U8, 9 * 1024 * 1024)
    + b"\x00" * (9 * 1024 * 1024),
    "a 70 KB key": gstr("k" * 70_000) + struct.pack("<I", U32) + struct.pack("<I", 1),
    "arrays nested 6 deep": gstr("deep") + struct.pack("<I", ARRAY) + _nested(6),
}


@pytest.mark.parametrize("case", list(HOSTILE_TAILS))
def test_a_refused_header_keeps_the_pairs_before_the_refusal(case: str) -> None:
    data = _after(CONTRADICTING, HOSTILE_TAILS[case])
    with pytest.raises(HeaderError) as info:
        parse_gguf_header(data[: 512 * 1024], file_size=len(data))
    partial = info.value.partial
    assert partial is not None and not partial.complete
    assert partial.kv_count == len(CONTRADICTING)
    assert partial.license == "llama3.1"
    assert partial.base_models[0].repo_url == "https://huggingface.co/meta-llama/Llama-3.1-8B"
    assert partial.header_bytes == len(_after(CONTRADICTING, b""))  # the end of the last pair read whole


def test_no_partial_before_the_metadata() -> None:
    with pytest.raises(HeaderError) as info:
        parse_gguf_header(b"GGUF" + struct.pack("<IQQ", 9, 0, 0))
    assert info.value.partial is None
    assert parse_gguf_header(gguf(CONTRADICTING)).complete


def _check(env: dict[str, str], repo: str, *extra: str) -> tuple[int, dict[str, Any], float]:
    """`policycheck check REPO --format json`, bounded by the Hub deadline + 5 s."""
    import json
    import subprocess
    import sys

    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", repo, "--format", "json", *extra],
                              env={**env, **FAST, "POLICYCHECK_HUB_DEADLINE": "2"}, capture_output=True, text=True,
                              timeout=2 + 5)
    except subprocess.TimeoutExpired:
        pytest.fail("policycheck did not exit within the Hub deadline (2 s) + 5 s")
    assert proc.returncode != 4 and "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout), time.monotonic() - start


@pytest.mark.parametrize("case", list(HOSTILE_TAILS))
def test_check_of_a_refused_header_is_review_with_the_partial_evidence(hubsim: HubSim, hub_env: dict[str, str],
                                                                       case: str) -> None:
    """The header's license and base contradict the card (mit, no base): that alone gives review. Followed by a
    pair the parser refuses, it used to give PASS (the whole header was dropped without a word)."""
    hubsim.add_model("meta-llama/Llama-3.1-8B", {"README.md": make_card({"license": "llama3.1"})})
    hubsim.add_model(REPO, {"README.md": make_card({"license": "mit"}),
                            FILE: _after(CONTRADICTING, HOSTILE_TAILS[case]) + b"\x00" * 64})
    code, report, _ = _check(hub_env, REPO)
    assert (code, report["verdict"]) == (3, "review")
    found = {(e["code"], e["data"].get("header_license") or e["data"].get("header_base")) for e in report["evidence"]}
    assert ("gguf-header-mismatch", "llama3.1") in found
    assert ("gguf-header-mismatch", "meta-llama/Llama-3.1-8B") in found
    (note,) = [f for f in report["findings"] if f["rule"] == "weights-header-unreadable"]
    assert "could not be read whole" in note["message"]
    assert "the 4 metadata pairs before that point were read and checked" in note["message"]


def test_a_dripping_range_read_is_review_by_the_deadline(hubsim: HubSim, hub_env: dict[str, str],
                                                         model_file: bytes) -> None:
    """One byte every 0.2 s: the header used to be read for as long as the server liked (the deadline was checked
    after each 64 KiB, which took hours to come)."""
    hubsim.add_model(REPO, {"README.md": make_card({"license": "llama3.1"}), FILE: model_file})
    hubsim.faults.drip(0.2, path=FILE)
    code, report, _ = _check(hub_env, REPO)
    assert (code, report["verdict"]) == (3, "review")
    (note,) = [f for f in report["findings"] if f["rule"] == "weights-header-unreadable"]
    assert "too slowly" in note["message"] or "deadline" in note["message"]
    assert "nothing in it could be checked" in note["message"]
