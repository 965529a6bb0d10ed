"""Self-tests of the Hub emulator: raw HTTP checks in-process, and the real huggingface_hub client in
subprocesses (it reads HF_ENDPOINT at import time, hub-api.md §4.6)."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim.plugin import copy_card, run_client_json
from tests.hubsim.server import HubSim, make_card

pytest_plugins = ["tests.hubsim.plugin"]

CORPUS_CARDS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "cards"
SHA = "0123456789abcdef0123456789abcdef01234567"
README_BASE = make_card({"license": "apache-2.0", "library_name": "transformers"}, "# Base model\n")


def fetch(
    hub: HubSim, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One raw request; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(hub: HubSim, path: str, headers: dict[str, str] | None = None) -> Any:
    status, _, body = fetch(hub, path, headers=headers)
    assert status == 200, body
    return json.loads(body)


def add_base(hub: HubSim) -> None:
    hub.add_model(
        "acme/base-7b",
        {"README.md": README_BASE, "config.json": '{"model_type": "llama"}', "model.safetensors": b"\0" * 64},
        sha=SHA,
        revisions=["v1.0"],
    )


def add_gated_child(hub: HubSim) -> None:
    card = make_card({"license": "llama3", "base_model": "acme/base-7b", "datasets": ["acme/pile"]})
    hub.add_model("meta/chat-8b", {"README.md": card}, gated="manual")


# ------------------------------------------------------------------------------------------------------------
# In-process HTTP checks (fast)


def test_model_info_shape_tags_and_expand(hubsim: HubSim) -> None:
    add_base(hubsim)
    add_gated_child(hubsim)
    full = get_json(hubsim, "/api/models/meta/chat-8b")
    assert full["id"] == full["modelId"] == "meta/chat-8b"
    assert full["gated"] == "manual" and full["private"] is False and full["author"] == "meta"
    assert re.fullmatch(r"[0-9a-f]{40}", full["sha"])
    assert full["cardData"]["license"] == "llama3"
    assert full["tags"] == [
        "dataset:acme/pile",
        "base_model:acme/base-7b",
        "base_model:finetune:acme/base-7b",
        "license:llama3",
        "region:us",
    ]
    assert full["siblings"] == [{"rfilename": "README.md"}]
    assert "baseModels" not in full

    picked = get_json(hubsim, "/api/models/meta/chat-8b?expand=baseModels&expand[]=gated")
    assert set(picked) == {"_id", "id", "baseModels", "gated"}
    assert picked["baseModels"] == {
        "relation": "finetune",
        "models": [{"_id": picked["baseModels"]["models"][0]["_id"], "id": "acme/base-7b"}],
    }
    base = get_json(hubsim, "/api/models/acme/base-7b?expand=childrenModelCount&expand=library_name")
    assert base["childrenModelCount"] == {"finetune": 1} and base["library_name"] == "transformers"
    assert "baseModels" not in get_json(hubsim, "/api/models/acme/base-7b?expand=baseModels")

    blobs = get_json(hubsim, "/api/models/acme/base-7b?blobs=true")["siblings"]
    weights = next(s for s in blobs if s["rfilename"] == "model.safetensors")
    assert weights["size"] == 64 and weights["lfs"]["sha256"] == hashlib.sha256(b"\0" * 64).hexdigest()
    status, _, body = fetch(hubsim, "/api/models/acme/base-7b?expand=nonsense")
    assert status == 400, body


def test_pipeline_tag_is_computed_from_config_json_when_the_card_has_none(hubsim: HubSim) -> None:
    """The Hub computes a task for every model it can (hub-api.md §7): served as `pipeline_tag`, not in cardData."""
    causal = '{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}'
    hubsim.add_model("acme/causal", {"README.md": make_card({"license": "apache-2.0"}), "config.json": causal})
    info = get_json(hubsim, "/api/models/acme/causal?expand=pipeline_tag&expand=cardData&expand=tags")
    assert info["pipeline_tag"] == "text-generation" and "pipeline_tag" not in info["cardData"]
    assert "text-generation" in info["tags"]
    stated = make_card({"license": "apache-2.0", "pipeline_tag": "image-text-to-text"})
    hubsim.add_model("acme/stated", {"README.md": stated, "config.json": causal})  # a card's tag overrides
    assert get_json(hubsim, "/api/models/acme/stated?expand=pipeline_tag")["pipeline_tag"] == "image-text-to-text"
    mixed = '{"architectures": ["BertForMaskedLM", "BertForCausalLM"]}'
    hubsim.add_model("acme/mixed", {"README.md": make_card({"license": "mit"}), "config.json": mixed})
    assert get_json(hubsim, "/api/models/acme/mixed?expand=pipeline_tag").get("pipeline_tag") is None


def test_relation_inference(hubsim: HubSim) -> None:
    add_base(hubsim)
    cases: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
        "q/gguf": ({"base_model": "acme/base-7b"}, {"extra_files": ["m.Q4_K_M.gguf"]}, "quantized"),
        "a/lora": ({"base_model": "acme/base-7b"}, {"extra_files": ["adapter_config.json"]}, "adapter"),
        "m/merge": ({"base_model": ["acme/base-7b", "x/y"]}, {}, "merge"),
        "e/explicit": ({"base_model": ["acme/base-7b"], "base_model_relation": "adapter"}, {}, "adapter"),
    }
    for repo_id, (card, meta, _) in cases.items():
        hubsim.add_model(repo_id, {"README.md": make_card(card)}, **meta)
    for repo_id, (_, _, relation) in cases.items():
        info = get_json(hubsim, f"/api/models/{repo_id}?expand=baseModels&expand=tags&expand=siblings")
        assert info["baseModels"]["relation"] == relation, repo_id
        assert f"base_model:{relation}:acme/base-7b" in info["tags"]
    counts = get_json(hubsim, "/api/models/acme/base-7b?expand=childrenModelCount")["childrenModelCount"]
    assert counts == {"quantized": 1, "adapter": 2, "merge": 1}
    placeholder = get_json(hubsim, "/api/models/a/lora?expand=siblings")["siblings"]
    assert {"rfilename": "adapter_config.json"} in placeholder


def test_folder_layout_and_hubsim_yaml(hubsim: HubSim) -> None:
    repo = hubsim.root / "models" / "org" / "hand-made"
    (repo / "sub").mkdir(parents=True)
    (repo / "README.md").write_text("---\nlicense: [broken\n---\nbody\n")  # unparsable front matter
    (repo / "sub" / "w.bin").write_bytes(b"abc")
    (repo / "_hubsim.yaml").write_text(
        f"sha: {SHA.upper()}\nrevisions: [v2, refs/pr/1]\nlast_modified: 2025-03-04T05:06:07Z\n"
        "card_data: {license: other, license_name: acme-1.0}\nextra_files: [model.Q4_K_M.gguf]\n"
    )
    info = get_json(hubsim, "/api/models/org/hand-made")
    assert info["sha"] == SHA
    assert info["lastModified"] == "2025-03-04T05:06:07.000Z"
    assert info["cardData"] == {"license": "other", "license_name": "acme-1.0"}
    assert [s["rfilename"] for s in info["siblings"]] == ["README.md", "model.Q4_K_M.gguf", "sub/w.bin"]
    for rev in ("v2", "refs%2Fpr%2F1", SHA, "main"):
        assert get_json(hubsim, f"/api/models/org/hand-made/revision/{rev}")["sha"] == SHA
    status, headers, _ = fetch(hubsim, "/org/hand-made/resolve/main/_hubsim.yaml", "HEAD")
    assert (status, headers["x-error-code"]) == (404, "EntryNotFound")

    tree = get_json(hubsim, "/api/models/org/hand-made/tree/main")
    assert [(e["type"], e["path"]) for e in tree] == [
        ("directory", "sub"),
        ("file", "README.md"),
        ("file", "model.Q4_K_M.gguf"),
    ]
    assert [e["path"] for e in get_json(hubsim, "/api/models/org/hand-made/tree/main/sub")] == ["sub/w.bin"]

    (repo / "README.md").write_text("no front matter\n")
    (repo / "_hubsim.yaml").write_text("private: false\n")
    assert "cardData" not in get_json(hubsim, "/api/models/org/hand-made")


def test_bad_hubsim_yaml_is_loud(hubsim: HubSim) -> None:
    with pytest.raises(ValueError, match="unknown hubsim metadata"):
        hubsim.add_model("org/x", {}, licence="mit")
    repo = hubsim.root / "models" / "org" / "typo"
    repo.mkdir(parents=True)
    (repo / "_hubsim.yaml").write_text("gatd: manual\n")
    status, _, body = fetch(hubsim, "/api/models/org/typo")
    assert status == 500 and b"gatd" in body
    assert len(hubsim.server_errors) == 1
    hubsim.server_errors.clear()


def test_resolve_headers_ranges_and_entry_not_found(hubsim: HubSim) -> None:
    add_base(hubsim)
    readme = README_BASE.encode()
    status, headers, body = fetch(hubsim, "/acme/base-7b/resolve/main/README.md", "HEAD")
    assert status == 200 and body == b""
    assert headers["x-repo-commit"] == SHA
    assert headers["etag"] == '"' + hashlib.sha1(b"blob %d\0" % len(readme) + readme).hexdigest() + '"'
    assert headers["content-length"] == str(len(readme)) and headers["accept-ranges"] == "bytes"
    assert not [h for h in headers if "xet" in h or h == "link"]

    status, headers, body = fetch(hubsim, "/acme/base-7b/resolve/v1.0/README.md", headers={"Range": "bytes=4-10"})
    assert (status, body) == (206, readme[4:11])
    assert headers["content-range"] == f"bytes 4-10/{len(readme)}"
    status, _, body = fetch(hubsim, "/acme/base-7b/resolve/main/README.md", headers={"Range": "bytes=-5"})
    assert (status, body) == (206, readme[-5:])
    status, headers, _ = fetch(hubsim, "/acme/base-7b/resolve/main/README.md", headers={"Range": "bytes=999-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(readme)}"

    status, headers, body = fetch(hubsim, "/acme/base-7b/resolve/main/nope.txt")
    assert (status, headers["x-error-code"], headers["x-repo-commit"]) == (404, "EntryNotFound", SHA)
    assert json.loads(body)["error"]
    status, headers, _ = fetch(hubsim, "/acme/base-7b/resolve/nope/README.md")
    assert (status, headers["x-error-code"]) == (404, "RevisionNotFound")
    weights = fetch(hubsim, "/acme/base-7b/resolve/main/model.safetensors", "HEAD")[1]
    assert weights["etag"] == '"' + hashlib.sha256(b"\0" * 64).hexdigest() + '"'


def test_access_control_private_gated_renamed(hubsim: HubSim) -> None:
    add_base(hubsim)
    add_gated_child(hubsim)
    hubsim.add_model("acme/secret", {"README.md": "hi"}, private=True)
    hubsim.add_model("legacy/old-name", renamed_to="acme/base-7b")
    bearer = {"Authorization": "Bearer hf_granted"}
    other = {"Authorization": "Bearer hf_other"}

    for path in ("/api/models/acme/missing", "/api/models/acme/secret", "/acme/secret/resolve/main/README.md"):
        assert fetch(hubsim, path)[:2][0] == 401
        status, headers, _ = fetch(hubsim, path, headers=other)
        assert (status, headers["x-error-code"]) == (404, "RepoNotFound")
    hubsim.granted_tokens.add("hf_granted")
    assert get_json(hubsim, "/api/models/acme/secret", headers=bearer)["private"] is True

    assert fetch(hubsim, "/api/models/meta/chat-8b")[0] == 200  # the license stays readable
    gated_file = "/meta/chat-8b/resolve/main/README.md"
    assert [fetch(hubsim, gated_file, headers=h)[0] for h in ({}, other, bearer)] == [401, 403, 200]
    assert fetch(hubsim, gated_file)[1]["x-error-code"] == "GatedRepo"
    assert fetch(hubsim, "/api/models/meta/chat-8b/tree/main")[0] == 200

    status, headers, _ = fetch(hubsim, "/api/models/legacy/old-name?expand=sha")
    assert (status, headers["location"]) == (307, "/api/models/acme/base-7b?expand=sha")
    status, headers, _ = fetch(hubsim, "/legacy/old-name/resolve/main/README.md", "HEAD")
    assert (status, headers["location"]) == (307, "/acme/base-7b/resolve/main/README.md")
    listed = [m["id"] for m in get_json(hubsim, "/api/models")]
    assert listed == ["acme/base-7b", "meta/chat-8b"]
    assert "acme/secret" in [m["id"] for m in get_json(hubsim, "/api/models", headers=bearer)]


def test_listing_filters_limit_and_link(hubsim: HubSim) -> None:
    add_base(hubsim)
    previous = "acme/base-7b"
    for i in range(50):  # a chain of 50 fine-tunes
        card = make_card({"license": "mit" if i % 2 else "apache-2.0", "base_model": previous})
        hubsim.add_model(f"chain/m{i:02d}", {"README.md": card}, downloads=i)
        previous = f"chain/m{i:02d}"
    started = time.monotonic()
    children = get_json(hubsim, "/api/models?filter=base_model:chain/m10&expand=cardData&expand=tags")
    assert [c["id"] for c in children] == ["chain/m11"]
    assert set(children[0]) == {"_id", "id", "cardData", "tags"}
    assert time.monotonic() - started < 2
    both = get_json(hubsim, "/api/models?filter=license:mit&filter=base_model:finetune:chain/m10")
    assert [m["id"] for m in both] == ["chain/m11"]
    assert len(get_json(hubsim, "/api/models?author=chain&filter=license:mit")) == 25
    assert [m["id"] for m in get_json(hubsim, "/api/models?search=M4&limit=3")] == [
        "chain/m40",
        "chain/m41",
        "chain/m42",
    ]
    top = get_json(hubsim, "/api/models?author=chain&sort=downloads&limit=2&cardData=true")
    assert [m["id"] for m in top] == ["chain/m49", "chain/m48"] and "cardData" in top[0]
    status, _, _ = fetch(hubsim, "/api/models?expand=baseModels")
    assert status == 400  # huggingface_hub#3182: not allowed when listing

    hubsim.page_size = 20
    status, headers, body = fetch(hubsim, "/api/models?author=chain&expand=sha")
    assert status == 200 and len(json.loads(body)) == 20
    assert headers["link"] == f'<{hubsim.url}/api/models?author=chain&expand=sha&cursor=20>; rel="next"'
    assert len(get_json(hubsim, "/api/models?author=chain&expand=sha&cursor=40")) == 10


def test_fault_switches_in_process(hubsim: HubSim) -> None:
    add_base(hubsim)
    hubsim.faults.status(503, path=r"^/api/models/acme/", times=2, headers={"Retry-After": "3"})
    results = [fetch(hubsim, "/api/models/acme/base-7b") for _ in range(3)]
    assert [r[0] for r in results] == [503, 503, 200]
    assert results[0][1]["retry-after"] == "3" and json.loads(results[0][2])["error"]
    assert fetch(hubsim, "/api/agent-harnesses")[0] == 200  # not matched by the regex

    hubsim.faults.truncate(path="README.md", method="GET")
    conn = http.client.HTTPConnection("127.0.0.1", hubsim.port, timeout=10)
    conn.request("GET", "/acme/base-7b/resolve/main/README.md")
    resp = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead) as caught:
        resp.read()
    conn.close()
    assert len(caught.value.partial) == len(README_BASE) // 2
    assert fetch(hubsim, "/acme/base-7b/resolve/main/README.md", "HEAD")[0] == 200  # HEAD has no body

    hubsim.faults.clear()
    hubsim.faults.latency(0.3, path="base-7b$")
    started = time.monotonic()
    assert fetch(hubsim, "/api/models/acme/base-7b")[0] == 200
    assert time.monotonic() - started >= 0.3
    assert [(r.status, r.faults) for r in hubsim.requests if r.path == "/api/models/acme/base-7b"] == [
        (503, ("status",)),
        (503, ("status",)),
        (200, ()),
        (200, ("latency",)),
    ]
    assert hubsim.count("GET", "/acme/") == 1 and hubsim.count("HEAD") == 1
    hubsim.clear_log()
    assert hubsim.requests == []


def test_body_fault_switches_in_process(hubsim: HubSim) -> None:
    """drip, endless and huge: the hostile bodies the scanner must bound, checked with a raw client."""
    add_base(hubsim)
    info = "/api/models/acme/base-7b"
    readme = "/acme/base-7b/resolve/main/README.md"
    size = len(fetch(hubsim, info)[2])

    hubsim.faults.drip(0.05, path=f"^{info}$", times=1)
    conn = http.client.HTTPConnection("127.0.0.1", hubsim.port, timeout=10)
    conn.request("GET", info)
    resp = conn.getresponse()  # the status and headers come at once, with the true length
    assert resp.status == 200 and resp.getheader("content-length") == str(size)
    started = time.monotonic()
    first = resp.read(4)
    assert time.monotonic() - started >= 0.15  # byte by byte
    conn.close()
    assert first == b'{"_i'

    hubsim.faults.endless(path=f"^{readme}$", times=1)
    conn = http.client.HTTPConnection("127.0.0.1", hubsim.port, timeout=10)
    conn.request("GET", readme)
    resp = conn.getresponse()
    assert resp.getheader("content-length") is None and resp.getheader("connection") == "close"
    got = 0
    while got < 4 * 1024 * 1024:  # well past the card: it goes on
        got += len(resp.read(65536))
    conn.close()
    assert fetch(hubsim, readme, "HEAD")[1]["content-length"] == str(len(README_BASE))  # HEAD tells the truth

    hubsim.faults.huge(3 * 1024 * 1024, path=f"^{info}$")
    _, headers, body = fetch(hubsim, info)
    assert headers["content-length"] == str(3 * 1024 * 1024) == str(len(body))
    assert json.loads(body)["id"] == "acme/base-7b"  # padded with whitespace: still the same JSON
    assert fetch(hubsim, info, "HEAD")[1]["content-length"] == str(3 * 1024 * 1024)
    hubsim.faults.clear()
    hubsim.faults.huge(1024 * 1024, path=f"^{readme}$", declare=False)
    _, headers, body = fetch(hubsim, readme)
    assert "content-length" not in headers and len(body) == 1024 * 1024 and body.startswith(README_BASE.encode())
    assert fetch(hubsim, readme, "HEAD")[1]["content-length"] == str(len(README_BASE))
    assert [r.faults for r in hubsim.requests if r.method == "GET"][1:] == [
        ("drip",), ("endless",), ("huge",), ("huge",)]


def test_lone_surrogates_go_out_as_json_escapes(hubsim: HubSim) -> None:
    hubsim.add_model("acme/odd", {"config.json": '{"model_type": "x\\ud800"}'}, card_data={"license": "a\udc00"})
    status, _, body = fetch(hubsim, "/api/models/acme/odd?expand=cardData&expand=config")
    assert status == 200 and b'"x\\ud800"' in body and b'"a\\udc00"' in body
    assert json.loads(body)["cardData"]["license"] == "a\udc00"


@pytest.mark.skipif(not CORPUS_CARDS.is_dir(), reason="shared corpus not available")
def test_copy_card_from_corpus(hubsim: HubSim) -> None:
    card = CORPUS_CARDS / "HuggingFaceH4__zephyr-7b-beta.md"
    copy_card(hubsim, "HuggingFaceH4/zephyr-7b-beta", card, gated="auto")
    info = get_json(hubsim, "/api/models/HuggingFaceH4/zephyr-7b-beta")
    assert info["gated"] == "auto" and info["cardData"]["license"] == "mit"
    assert "base_model:finetune:mistralai/Mistral-7B-v0.1" in info["tags"]
    assert info["pipeline_tag"] == "text-generation" and info["model-index"][0]["name"] == "zephyr-7b-beta"


# ------------------------------------------------------------------------------------------------------------
# The real huggingface_hub client, in a subprocess

PRELUDE = """
import json, time
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub import errors
api = HfApi()

def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as exc:
        response = getattr(exc, "response", None)
        return [type(exc).__name__, getattr(response, "status_code", None)]
"""


def client(script: str, env: dict[str, str]) -> Any:
    return run_client_json(PRELUDE + script, env)


def test_client_model_info_expand(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    add_base(hubsim)
    add_gated_child(hubsim)
    out = client(
        """
fields = ["cardData", "sha", "siblings", "gated", "baseModels"]
result = {}
for repo_id in ("acme/base-7b", "meta/chat-8b"):
    info = api.model_info(repo_id, expand=fields)
    result[repo_id] = [info.card_data.license, info.sha, [s.rfilename for s in info.siblings], info.gated,
                       info.base_models, info.tags]
print(json.dumps(result))
""",
        hub_env,
    )
    gated_sha = hubsim.repo("meta/chat-8b").sha  # type: ignore[union-attr]
    assert out["acme/base-7b"] == [
        "apache-2.0",
        SHA,
        ["README.md", "config.json", "model.safetensors"],
        False,
        None,
        None,
    ]
    assert out["meta/chat-8b"][:4] == ["llama3", gated_sha, ["README.md"], "manual"]
    assert out["meta/chat-8b"][4]["relation"] == "finetune"
    (first, second) = hubsim.requests
    assert first.path == "/api/models/acme/base-7b" and first.query["expand"] == [
        "cardData",
        "sha",
        "siblings",
        "gated",
        "baseModels",
    ]
    assert "authorization" not in first.headers and second.status == 200


def test_client_download_pinned_sha_is_cached(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    add_base(hubsim)
    script = f"""
path = hf_hub_download("acme/base-7b", "README.md", revision="{SHA}")
print(json.dumps([path, open(path).read()]))
"""
    path, text = client(script, hub_env)
    assert text == README_BASE and f"snapshots/{SHA}/README.md" in path
    assert [(r.method, r.path) for r in hubsim.requests] == [
        ("HEAD", f"/acme/base-7b/resolve/{SHA}/README.md"),
        ("GET", f"/acme/base-7b/resolve/{SHA}/README.md"),
    ]
    assert hubsim.requests[0].headers["x-hf-download-counter"] == "1"
    hubsim.clear_log()
    assert client(script, hub_env) == [path, README_BASE]
    assert hubsim.requests == []  # pinned sha + cached blob: no request at all


def test_client_dataset_info(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    card = make_card({"license": ["cc-by-4.0", "odc-by"], "task_categories": ["text-generation"]})
    hubsim.add_dataset("acme/pile", {"README.md": card, "data/train.parquet": b"PAR1"}, gated="auto")
    out = client(
        """
info = api.dataset_info("acme/pile")
files = api.list_repo_files("acme/pile", repo_type="dataset")
gated = outcome(lambda: hf_hub_download("acme/pile", "README.md", repo_type="dataset"))
print(json.dumps([info.id, info.card_data.license, info.gated, info.tags, files, gated]))
""",
        hub_env,
    )
    assert out == [
        "acme/pile",
        ["cc-by-4.0", "odc-by"],
        "auto",
        ["task_categories:text-generation", "license:cc-by-4.0", "license:odc-by", "region:us"],
        ["README.md", "data/train.parquet"],
        ["GatedRepoError", 401],
    ]
    assert hubsim.requests[0].path == "/api/datasets/acme/pile"


def test_client_list_repo_files(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    hubsim.add_model("acme/nested", {"README.md": "x", "a/b/c.json": "{}", "a/d.txt": "d"}, extra_files=["z.gguf"])
    out = client('print(json.dumps(api.list_repo_files("acme/nested")))', hub_env)
    assert out == ["README.md", "a/b/c.json", "a/d.txt", "z.gguf"]
    (request,) = hubsim.requests
    assert request.path == "/api/models/acme/nested/tree/main"
    assert request.query == {"recursive": ["true"], "expand": ["false"]}


def test_client_error_mapping(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    add_base(hubsim)
    add_gated_child(hubsim)
    hubsim.granted_tokens.add("hf_granted")
    out = client(
        """
print(json.dumps({
    "missing": outcome(lambda: api.model_info("acme/missing")),
    "missing_token": outcome(lambda: api.model_info("acme/missing", token="hf_other")),
    "gated_info": outcome(lambda: api.model_info("meta/chat-8b")),
    "gated_file": outcome(lambda: hf_hub_download("meta/chat-8b", "README.md")),
    "gated_file_token": outcome(lambda: hf_hub_download("meta/chat-8b", "README.md", token="hf_other")),
    "gated_file_granted": outcome(lambda: hf_hub_download("meta/chat-8b", "README.md", token="hf_granted")),
    "bad_rev_info": outcome(lambda: api.model_info("acme/base-7b", revision="nope")),
    "bad_rev_file": outcome(lambda: hf_hub_download("acme/base-7b", "README.md", revision="nope")),
    "missing_file": outcome(lambda: hf_hub_download("acme/base-7b", "nope.txt")),
    "is_repo_not_found": issubclass(errors.GatedRepoError, errors.RepositoryNotFoundError),
}))
""",
        hub_env,
    )
    assert out == {
        "missing": ["RepositoryNotFoundError", 401],
        "missing_token": ["RepositoryNotFoundError", 404],
        "gated_info": "ok",
        "gated_file": ["GatedRepoError", 401],
        "gated_file_token": ["GatedRepoError", 403],
        "gated_file_granted": "ok",
        "bad_rev_info": ["RevisionNotFoundError", 404],
        "bad_rev_file": ["RevisionNotFoundError", 404],
        "missing_file": ["RemoteEntryNotFoundError", 404],
        "is_repo_not_found": True,
    }


def test_client_retries_429_on_listing(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    add_base(hubsim)
    hubsim.faults.status(429, path=r"^/api/models$", times=1, headers={"Retry-After": "1"})
    ids, waited = client(
        """
started = time.monotonic()
ids = [m.id for m in api.list_models(author="acme")]
print(json.dumps([ids, time.monotonic() - started]))
""",
        hub_env,
    )
    assert ids == ["acme/base-7b"]
    assert 1.9 <= waited < 5  # Retry-After: 1 -> the client sleeps 1 + 1 s
    assert [(r.status, r.faults) for r in hubsim.requests] == [(429, ("status",)), (200, ())]


def test_client_503_on_model_info_is_not_retried(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    add_base(hubsim)
    hubsim.faults.status(503, path=r"^/api/models/acme/base-7b$", times=1)
    out = client(
        """
first = outcome(lambda: api.model_info("acme/base-7b"))
is_hf = False
try:
    api.model_info("acme/base-7b", revision="nope")
except errors.HfHubHTTPError:
    is_hf = True
print(json.dumps([first, api.model_info("acme/base-7b").sha, is_hf]))
""",
        hub_env,
    )
    assert out == [["HfHubHTTPError", 503], SHA, True]
    assert [r.status for r in hubsim.requests] == [503, 404, 200]


def test_client_latency_and_hang(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    add_base(hubsim)
    hubsim.add_model("acme/slow", {"README.md": README_BASE})
    hubsim.add_model("acme/stuck", {"README.md": README_BASE})
    hubsim.faults.latency(0.6, path=r"^/api/models/acme/slow$")
    hubsim.faults.hang(5, path=r"^/api/models/acme/stuck$", times=1)
    out = client(
        """
def timed(fn):
    started = time.monotonic()
    result = outcome(fn)
    return [result, time.monotonic() - started]
api.model_info("acme/base-7b")  # warm the connection
print(json.dumps({
    "fast": timed(lambda: api.model_info("acme/base-7b")),
    "slow": timed(lambda: api.model_info("acme/slow")),
    "stuck": timed(lambda: api.model_info("acme/stuck", timeout=0.5)),
}))
""",
        hub_env,
    )
    assert out["fast"][0] == out["slow"][0] == "ok"
    assert out["fast"][1] < 0.4 and out["slow"][1] >= 0.6
    assert out["stuck"][0][0] == "ReadTimeout" and out["stuck"][1] < 2


def test_client_truncated_download(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    payload = bytes(range(256)) * 4
    # Different contents: the client's cache is content-addressed, equal blobs would be reused without a GET.
    hubsim.add_model("acme/files", {"once.bin": payload, "always.bin": payload[::-1]})
    hubsim.faults.truncate(path="once.bin$", times=1)
    hubsim.faults.truncate(path="always.bin$")
    out = client(
        """
once = hf_hub_download("acme/files", "once.bin")
always = outcome(lambda: hf_hub_download("acme/files", "always.bin"))
print(json.dumps([open(once, "rb").read().hex(), always]))
""",
        hub_env,
    )
    assert bytes.fromhex(out[0]) == payload  # one cut, then the client retries and gets it all
    assert out[1][0] == "RemoteProtocolError"  # cut every time: the download fails, nothing is cached
    once = [r for r in hubsim.requests if r.method == "GET" and r.path.endswith("once.bin")]
    # The partial 512 bytes never reach the client's 10 MB read loop, so it retries without a Range header.
    assert [(r.status, r.faults, r.headers.get("range")) for r in once] == [(200, ("truncate",), None), (200, (), None)]
    always = [r for r in hubsim.requests if r.method == "GET" and r.path.endswith("always.bin")]
    assert len(always) == 6 and all(r.faults == ("truncate",) for r in always)  # 1 try + 5 retries, 1 s apart
    snapshots = Path(hub_env["HF_HOME"]) / "hub" / "models--acme--files" / "snapshots"
    assert not list(snapshots.rglob("always.bin"))


def test_client_paginated_listings(hubsim: HubSim, hub_env: dict[str, str]) -> None:
    for i in range(3):
        hubsim.add_model(f"page/m{i}", {"README.md": make_card({"license": "mit"}), "f.txt": str(i)})
    hubsim.page_size = 2
    out = client(
        """
models = [[m.id, m.card_data.license] for m in api.list_models(filter="license:mit", expand=["cardData"])]
files = api.list_repo_files("page/m0")
print(json.dumps([models, files]))
""",
        hub_env,
    )
    assert out == [[["page/m0", "mit"], ["page/m1", "mit"], ["page/m2", "mit"]], ["README.md", "f.txt"]]
    listing = [r for r in hubsim.requests if r.path == "/api/models"]
    assert [r.query.get("cursor") for r in listing] == [None, ["2"]]
    assert listing[1].query["filter"] == ["license:mit"] and listing[1].query["expand"] == ["cardData"]
    assert hubsim.count("GET", "/api/models/page/m0/tree/main") == 1  # 2 entries fit one page of 2
