"""The inventory scanner (policy/scan/inventory): the fixture application uses every pattern it knows, and the tests
below hold what it finds there, what it must not take for a model, and how it behaves on hostile trees."""

from __future__ import annotations

import os
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from policy.model.inventory import Inventory, ModelUse
from policy.scan.inventory import Limits, configs, take_inventory
from policy.scan.inventory.python import analyse
from policy.scan.inventory.shapes import hub_id, hub_id_from_url
from tests.support.weights import fixture_files, gguf_bytes, safetensors_bytes

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "inventory_app"

# id -> (kind, scope) of every model the fixture application uses
EXPECTED = {
    "BAAI/bge-reranker-base": ("hub", "runtime"),
    "BAAI/bge-small-en-v1.5": ("hub", "runtime"),
    "bartowski/Llama-3.2-3B-Instruct-GGUF": ("hub", "runtime"),
    "CohereForAI/aya-expanse-8b": ("hub", "runtime"),
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": ("hub", "runtime"),
    "google/gemma-2-2b-it": ("hub", "runtime"),
    "HuggingFaceH4/zephyr-7b-beta": ("hub", "runtime"),
    "HuggingFaceTB/SmolLM2-1.7B-Instruct": ("hub", "runtime"),
    "meta-llama/Llama-3.1-8B-Instruct": ("hub", "runtime"),
    "microsoft/Phi-3-mini-4k-instruct": ("hub", "runtime"),
    "mistralai/Mistral-7B-Instruct-v0.3": ("hub", "runtime"),
    "nomic-ai/nomic-embed-text-v1.5": ("hub", "runtime"),
    "Qwen/Qwen2.5-7B-Instruct": ("hub", "runtime"),
    "Qwen/Qwen2.5-Coder-1.5B-Instruct": ("hub", "runtime"),
    "sentence-transformers/all-MiniLM-L6-v2": ("hub", "runtime"),
    "stabilityai/stable-diffusion-xl-base-1.0": ("hub", "runtime"),
    "TheBloke/Mistral-7B-Instruct-v0.2-GGUF": ("hub", "runtime"),
    "anthropic/claude-3-5-sonnet-latest": ("api", "runtime"),
    "google/gemini-1.5-pro": ("api", "runtime"),
    "mistral-api/mistral-large-latest": ("api", "runtime"),
    "openai/gpt-4o": ("api", "runtime"),
    "models/classifier": ("local-weights", "runtime"),
    "models/tiny.gguf": ("local-weights", "runtime"),
    "hf-internal-testing/tiny-random-gpt2": ("hub", "test"),
    "meta-llama/Llama-3.2-1B": ("hub", "docs"),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": ("hub", "docs"),
}


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return take_inventory(APP)


def _model(inventory: Inventory, model_id: str) -> ModelUse:
    found = [m for m in inventory.models if m.id == model_id]
    assert len(found) == 1, (model_id, [m.id for m in inventory.models])
    return found[0]


def _where(model: ModelUse) -> set[tuple[str, str]]:
    return {(loc.where, loc.use) for loc in model.locations}


def test_the_fixture_application_uses_every_pattern(inventory: Inventory) -> None:
    assert {m.id: (m.kind, m.scope) for m in inventory.models} == EXPECTED
    assert not inventory.incomplete and not inventory.skipped
    assert (inventory.name, inventory.version) == ("acme-assistant", "1.4.0")


def test_each_model_once_with_every_location(inventory: Inventory) -> None:
    qwen = _model(inventory, "Qwen/Qwen2.5-7B-Instruct")
    assert _where(qwen) == {("app/chat.py:10", "loaded"), ("app/chat.py:11", "loaded"), ("compose.yaml:8", "loaded"),
                            ("scripts/download_models.sh:4", "config"), ("README.md:4", "docs"),
                            ("docs/guide.md:9", "loaded")}
    assert qwen.scopes == ("runtime", "docs")
    # sorted: runtime locations first
    assert [loc.scope for loc in qwen.locations] == ["runtime"] * 4 + ["docs"] * 2


def test_python_patterns(inventory: Inventory) -> None:
    def one(model_id: str) -> tuple[str, str, str]:
        (loc,) = _model(inventory, model_id).locations
        return loc.where, loc.use, loc.detail

    assert one("distilbert/distilbert-base-uncased-finetuned-sst-2-english") == (
        "app/chat.py:12", "loaded", "pipeline(model=) (SENTIMENT_MODEL)")  # a constant of the same module
    assert one("TheBloke/Mistral-7B-Instruct-v0.2-GGUF") == ("app/search.py:17", "downloaded", "hf_hub_download")
    assert one("meta-llama/Llama-3.1-8B-Instruct") == ("app/serve.py:8", "loaded", "LLM(model=)")  # vLLM
    assert one("stabilityai/stable-diffusion-xl-base-1.0")[:2] == ("app/serve.py:12", "loaded")  # diffusers
    assert one("HuggingFaceH4/zephyr-7b-beta") == ("app/providers.py:14", "api-call", "InferenceClient")
    assert one("mistralai/Mistral-7B-Instruct-v0.3") == ("app/providers.py:15", "api-call",
                                                         "HuggingFaceEndpoint(repo_id=)")  # LangChain
    assert one("BAAI/bge-small-en-v1.5") == ("app/search.py:10", "loaded",
                                             "HuggingFaceEmbedding(model_name=)")  # LlamaIndex


def test_a_constant_resolved_across_modules(inventory: Inventory) -> None:
    qwen = _model(inventory, "Qwen/Qwen2.5-7B-Instruct")
    chat = [loc for loc in qwen.locations if loc.file == "app/chat.py"]
    assert [loc.detail for loc in chat] == ["AutoTokenizer.from_pretrained (CHAT_MODEL from app/settings.py)",
                                            "AutoModelForCausalLM.from_pretrained (CHAT_MODEL from app/settings.py)"]


def test_an_environment_default_is_configurable(inventory: Inventory) -> None:
    minilm = _model(inventory, "sentence-transformers/all-MiniLM-L6-v2")
    assert minilm.configurable and minilm.settings == ("EMBED_MODEL", "EMBEDDING_MODEL")
    search = next(loc for loc in minilm.locations if loc.file == "app/search.py")
    # `from .settings import EMBED_MODEL`, where EMBED_MODEL = os.getenv("EMBED_MODEL", "...")
    assert (search.line, search.setting) == (9, "EMBED_MODEL")
    assert "default of $EMBED_MODEL" in search.detail and "app/settings.py" in search.detail
    assert not _model(inventory, "meta-llama/Llama-3.1-8B-Instruct").configurable


def test_provider_models(inventory: Inventory) -> None:
    for model_id, where in (("openai/gpt-4o", "app/chat.py:19"),
                            ("anthropic/claude-3-5-sonnet-latest", "app/providers.py:18"),
                            ("google/gemini-1.5-pro", "app/providers.py:23"),
                            ("mistral-api/mistral-large-latest", "app/providers.py:27")):
        assert _where(_model(inventory, model_id)) == {(where, "api-call")}, model_id


def test_configuration_and_deployment(inventory: Inventory) -> None:
    assert _where(_model(inventory, "google/gemma-2-2b-it")) == {
        ("config.yaml:3", "config"), ("deploy/k8s/deployment.yaml:17", "loaded"),
        ("deploy/k8s/deployment.yaml:20", "config")}  # the second document of a multi-document manifest
    assert _where(_model(inventory, "BAAI/bge-reranker-base")) == {("config.yaml:6", "config")}
    assert _where(_model(inventory, "CohereForAI/aya-expanse-8b")) == {("config.toml:3", "config")}
    phi = _model(inventory, "microsoft/Phi-3-mini-4k-instruct")
    assert _where(phi) == {("config.json:3", "config"), ("Dockerfile:2", "config")}
    assert phi.settings == ("HF_MODEL_ID",)  # the Dockerfile's ENV
    assert _where(_model(inventory, "Qwen/Qwen2.5-Coder-1.5B-Instruct")) == {("Dockerfile:4", "downloaded")}
    assert _where(_model(inventory, "HuggingFaceTB/SmolLM2-1.7B-Instruct")) == {("compose.yaml:4", "loaded")}
    assert _where(_model(inventory, "nomic-ai/nomic-embed-text-v1.5")) == {
        ("scripts/download_models.sh:5", "downloaded")}


def test_ollama_modelfiles(inventory: Inventory) -> None:
    (loc,) = _model(inventory, "bartowski/Llama-3.2-3B-Instruct-GGUF").locations
    assert (loc.where, loc.use, loc.detail) == ("Modelfile:1", "loaded", "FROM of a Modelfile (tag Q4_K_M)")
    tiny = _model(inventory, "models/tiny.gguf")  # `FROM ../models/tiny.gguf` of deploy/Modelfile.local
    assert ("deploy/Modelfile.local:2", "loaded") in _where(tiny)


def test_weights_on_disk(inventory: Inventory) -> None:
    tiny = _model(inventory, "models/tiny.gguf")
    assert (tiny.license, tiny.base_models, tiny.files) == ("apache-2.0", ("Qwen/Qwen2.5-0.5B-Instruct",),
                                                             ("models/tiny.gguf",))
    classifier = _model(inventory, "models/classifier")
    assert (classifier.license, classifier.base_models, classifier.files) == (
        "mit", ("distilbert/distilbert-base-uncased",), ("models/classifier/model.safetensors",))
    assert _where(classifier) == {("models/classifier/config.json:2", "weights"),
                                  ("models/classifier/model.safetensors", "weights")}


def test_scopes_test_and_docs(inventory: Inventory) -> None:
    tiny = _model(inventory, "hf-internal-testing/tiny-random-gpt2")
    assert _where(tiny) == {("tests/conftest.py:11", "loaded")}
    mixtral = _model(inventory, "mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert _where(mixtral) == {("docs/guide.md:3", "docs")}
    small = _model(inventory, "meta-llama/Llama-3.2-1B")  # a notebook: prose, a shell line and code
    assert _where(small) == {("docs/tour.ipynb:cell 1:3", "docs"), ("docs/tour.ipynb:cell 2:1", "downloaded"),
                             ("docs/tour.ipynb:cell 2:5", "loaded")}
    assert {m.id for m in inventory.selected()} == {m for m, (_k, s) in EXPECTED.items() if s == "runtime"}
    with_tests = replace(inventory, include=("test",))
    assert {m.id for m in with_tests.selected()} - {m.id for m in inventory.selected()} == {tiny.id}


def test_nothing_else_is_taken_for_a_model(inventory: Inventory) -> None:
    ids = {m.id for m in inventory.models}
    for text in ("text/plain", "application/json", "utf-8", "data/questions.json", "./checkpoints/latest",
                 "checkpoints/latest", "acme/support-questions", "templates/answer.jinja", "models/reranker",
                 "models/nomic", "python:3.12-slim", "vllm/vllm-openai", "huggingface/text-generation-inference"):
        assert text not in ids


def test_the_committed_weight_files_are_what_the_generator_writes() -> None:
    for path, data in fixture_files().items():
        assert path.read_bytes() == data, f"{path}: run python -m tests.support.weights"


@pytest.mark.parametrize("text", ["org/name", "Qwen/Qwen2.5-7B-Instruct", "deepseek-ai/DeepSeek-V2.5",
                                  "TheBloke/Llama-2-7B-GGUF", "bert-base-uncased/x1"])
def test_hub_shaped(text: str) -> None:
    assert hub_id(text) == text


@pytest.mark.parametrize("text", [
    "text/plain", "application/json", "image/png", "utf-8", "./models/x", "models/x", "a/b.py", "conf/app.yaml",
    "2024/01", "1.0/2.0", "and/or", "n/a", "src/app", "org/name/extra", "org name/x", "/abs/path", "https://x.y/z",
    "origin/main", "tests/unit", "org/", "/name", "", "a" * 300, "org/..", "org/name.git", "org--x/name",
])
def test_not_hub_shaped(text: str) -> None:
    assert hub_id(text) is None


def test_bare_ids_only_where_only_a_model_can_stand() -> None:
    assert hub_id("gpt2") is None and hub_id("gpt2", bare=True) == "gpt2"
    assert hub_id("models", bare=True) is None and hub_id("12345", bare=True) is None
    assert hub_id("weights.bin", bare=True) is None


def test_hub_urls() -> None:
    assert hub_id_from_url("https://huggingface.co/org/name/resolve/main/x.gguf") == "org/name"
    assert hub_id_from_url("https://hf.co/org/name.git") == "org/name"
    for url in ("https://huggingface.co/datasets/org/name", "https://huggingface.co/spaces/org/name",
                "https://huggingface.co/docs/transformers", "https://huggingface.co/blog/post"):
        assert hub_id_from_url(url) is None, url


def _ids(source: str) -> set[tuple[str, str]]:
    result = analyse(source)
    assert result.problem is None, result.problem
    return {(f.id, f.use) for f in result.found}


@pytest.mark.parametrize(("source", "expected"), [
    ('from transformers import AutoModel\nAutoModel.from_pretrained("gpt2")', {("gpt2", "loaded")}),
    ('from transformers import AutoModel\nAutoModel.from_pretrained("https://huggingface.co/org/name")',
     {("org/name", "loaded")}),
    ('from peft import PeftModel\nPeftModel.from_pretrained(base, "org/adapter")', {("org/adapter", "loaded")}),
    ('from diffusers import P\nP.from_single_file("https://huggingface.co/org/sd/blob/main/x.safetensors")',
     {("org/sd", "loaded")}),
    ('from sentence_transformers import SentenceTransformer\nSentenceTransformer("all-mpnet-base-v2")',
     {("sentence-transformers/all-mpnet-base-v2", "loaded")}),
    ('from huggingface_hub import snapshot_download\nsnapshot_download("org/data", repo_type="dataset")', set()),
    ('from huggingface_hub import snapshot_download\nsnapshot_download(repo_id="org/m")', {("org/m", "downloaded")}),
    ('from transformers import pipeline\npipeline("text-generation", "org/m")', {("org/m", "loaded")}),
    ('import os\nfrom transformers import AutoModel\nM = os.getenv("M") or "org/m"\nAutoModel.from_pretrained(M)',
     {("org/m", "loaded")}),
    ('from transformers import AutoModel\nfor m in ["a1/x", "b2/y"]:\n    AutoModel.from_pretrained(m)',
     {("a1/x", "loaded"), ("b2/y", "loaded")}),
    ('from transformers import AutoModel\nM = "org/m"\ndef f(M):\n    return AutoModel.from_pretrained(M)', set()),
    ('from transformers import AutoModel\ndef f(m="org/m"):\n    return AutoModel.from_pretrained(m)',
     {("org/m", "loaded")}),
    ('from langchain_openai import ChatOpenAI\nChatOpenAI(model="gpt-4o-mini")', {("openai/gpt-4o-mini", "api-call")}),
    ('from langchain_anthropic import ChatAnthropic\nChatAnthropic(model="claude-3-haiku-20240307")',
     {("anthropic/claude-3-haiku-20240307", "api-call")}),
    ('from openai import AzureOpenAI\nc = AzureOpenAI()\nc.chat.completions.create(model="gpt-4o")',
     {("azure-openai/gpt-4o", "api-call")}),
    ('from google import genai\nc = genai.Client()\nc.models.generate_content(model="gemini-2.0-flash")',
     {("google/gemini-2.0-flash", "api-call")}),
    ('from openai import OpenAI\nc = OpenAI(base_url="http://localhost:8000/v1")\n'
     'c.chat.completions.create(model="Qwen/Qwen2.5-7B-Instruct")', {("Qwen/Qwen2.5-7B-Instruct", "api-call")}),
    ('from openai import OpenAI\nc = OpenAI(base_url="http://localhost:11434/v1")\n'
     'c.chat.completions.create(model="llama3")', {("openai-compatible/llama3", "api-call")}),
    ('def answer(client):\n    return client.chat.completions.create(model="gpt-4o")', {("openai/gpt-4o", "api-call")}),
    ('def answer(client):\n    return client.chat.completions.create(model="house-model")', set()),
    ('import argparse\np = argparse.ArgumentParser()\np.add_argument("--model-id", default="org/m")',
     {("org/m", "config")}),
    ('import argparse\np = argparse.ArgumentParser()\np.add_argument("--output", default="out/x")', set()),
    ('from dataclasses import dataclass\n@dataclass\nclass C:\n    base_model: str = "org/m"\n'
     '    mime: str = "text/plain"', {("org/m", "config")}),
    ('x = {"model": "org/m"}\ny = "org/m"', set()),  # a string alone is no use of a model
])
def test_python_snippets(source: str, expected: set[tuple[str, str]]) -> None:
    assert _ids(source) == expected


def test_settings_class_fields_are_configurable() -> None:
    (found,) = analyse('from pydantic_settings import BaseSettings\nclass S(BaseSettings):\n'
                       '    embedding_model: str = "org/m"\n').found
    assert (found.id, found.use, found.setting) == ("org/m", "config", "EMBEDDING_MODEL")


def test_self_attributes_and_clients_are_followed() -> None:
    source = ('from huggingface_hub import InferenceClient\nfrom sentence_transformers import SentenceTransformer\n'
              'class E:\n    def __init__(self, name="org/emb"):\n        self.name = name\n'
              '        self.client = InferenceClient()\n'
              '    def load(self):\n        self.client.text_generation("x", model="org/gen")\n'
              '        return SentenceTransformer(self.name)\n')
    assert _ids(source) == {("org/emb", "loaded"), ("org/gen", "api-call")}


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")


GOOD = 'from transformers import AutoModel\nAutoModel.from_pretrained("org/good")\n'


def test_a_file_that_does_not_parse_is_listed_with_its_place(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "from transformers import AutoModel\ndef f(:\n    AutoModel.from_pretrained(x)\n",
                      "b.py": GOOD, "quiet.py": "def f(:\n",  # no word of a model reference: not parsed
                      "c.py": "from_pretrained(" + "(" * 5000 + ")" * 5000 + ")\n",
                      "d.py": b"from_pretrained\0\x00", "e.yaml": "model: [unclosed\n", "f.json": "{\"model\": ",
                      "g.ipynb": "not json"})
    inventory = take_inventory(tmp_path)
    assert [m.id for m in inventory.models] == ["org/good"]
    skipped = {s.file: s for s in inventory.skipped}
    assert (skipped["a.py"].line, skipped["a.py"].column) == (2, 7) and "not valid Python" in skipped["a.py"].reason
    assert {"c.py", "d.py", "e.yaml", "f.json", "g.ipynb"} <= set(skipped)
    assert inventory.skipped_total == len(inventory.skipped)


def test_no_code_is_run_or_imported(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _write(tmp_path, {"app/__init__.py": f"open({str(marker)!r}, 'w').close()\n",
                      "app/config.py": f"open({str(marker)!r}, 'w').close()\nMODEL = 'org/m'\n",
                      "app/main.py": "from app.config import MODEL\nfrom transformers import AutoModel\n"
                                     "AutoModel.from_pretrained(MODEL)\n"})
    inventory = take_inventory(tmp_path)
    assert [m.id for m in inventory.models] == ["org/m"]
    assert not marker.exists()


def test_bounds_files_size_depth(tmp_path: Path) -> None:
    _write(tmp_path, {f"m{i}.py": GOOD.replace("good", f"m{i}") for i in range(10)})
    _write(tmp_path, {"big.py": GOOD + "#" * 3_000_000})
    deep = tmp_path.joinpath(*["d"] * 6)
    _write(deep, {"x.py": GOOD.replace("good", "deep")})
    inventory = take_inventory(tmp_path, Limits(max_files=4, max_depth=4))
    assert inventory.incomplete == "more than 4 files to read"
    assert len(inventory.models) <= 4
    full = take_inventory(tmp_path, Limits(max_depth=4))
    assert not full.incomplete
    assert {s.file: s.reason for s in full.skipped}["big.py"].startswith("larger than 2.0 MiB")
    assert "d/d/d/d/d" in {s.file for s in full.skipped}  # the fifth folder down is not walked
    assert "org/deep" not in {m.id for m in full.models}


def test_symbolic_links_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, {"secret.py": GOOD.replace("good", "outside")})
    repo = tmp_path / "repo"
    _write(repo, {"app.py": GOOD})
    (repo / "linked.py").symlink_to(outside / "secret.py")
    (repo / "linked_dir").symlink_to(outside, target_is_directory=True)
    (repo / "loop").symlink_to(repo, target_is_directory=True)
    inventory = take_inventory(repo)
    assert [m.id for m in inventory.models] == ["org/good"]
    assert {s.file for s in inventory.skipped} == {"linked.py", "linked_dir", "loop"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.yaml")  # a reader that opened it would wait for a writer forever
    _write(tmp_path, {"app.py": GOOD})
    assert [m.id for m in take_inventory(tmp_path).models] == ["org/good"]


def test_tool_folders_and_virtual_environments_are_not_walked(tmp_path: Path) -> None:
    _write(tmp_path, {"app.py": GOOD, ".git/hook.py": GOOD.replace("good", "git"),
                      "node_modules/x/a.py": GOOD.replace("good", "npm"),
                      "env2/pyvenv.cfg": "home = /usr\n", "env2/lib/site.py": GOOD.replace("good", "venv")})
    inventory = take_inventory(tmp_path)
    assert [m.id for m in inventory.models] == ["org/good"]
    assert any("not walked" in n for n in inventory.notes)
    # given as the root, a virtual environment's folder is read
    assert [m.id for m in take_inventory(tmp_path / "env2").models] == ["org/venv"]


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    _write(tmp_path, {"bomb.yaml": bomb + "model: org/after\n", "app.py": GOOD})
    inventory = take_inventory(tmp_path)
    assert [m.id for m in inventory.models] == ["org/good"]
    assert "bomb.yaml" in {s.file for s in inventory.skipped}


def test_weight_headers_hostile_and_bounded(tmp_path: Path) -> None:
    bad_gguf = gguf_bytes({"general.license": "mit"})[:-3]  # cut inside the value
    huge_count = b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 0) + struct.pack("<Q", 10**9)
    _write(tmp_path, {
        "w/cut.gguf": bad_gguf, "w/huge.gguf": huge_count, "w/not.gguf": b"PK\x03\x04 a zip",
        "s/ok/model.safetensors": safetensors_bytes({"license": "apache-2.0", "base_model": "org/base"}),
        "s/big/model.safetensors": safetensors_bytes({"license": "mit"}, pad_to=2 * 1024 * 1024),
        "s/late/model.safetensors": safetensors_bytes({"license": "mit"}, metadata_first=False,
                                                      pad_to=2 * 1024 * 1024),
        "s/bogus/model.safetensors": struct.pack("<Q", 2**60) + b"{}",
    })
    inventory = take_inventory(tmp_path)
    models = {m.id: m for m in inventory.models}
    assert (models["s/ok"].license, models["s/ok"].base_models) == ("apache-2.0", ("org/base",))
    assert models["s/big"].license == "mit"  # a large header whose metadata comes first: read from its start
    assert models["s/late"].license is None and "not read" in models["s/late"].notes[0]
    skipped = {s.file: s.reason for s in inventory.skipped}
    assert "w/cut.gguf" in skipped and "w/huge.gguf" in skipped and "w/not.gguf" in skipped
    assert "s/bogus/model.safetensors" in skipped
    assert inventory.stats.bytes_read < 5 * 1024 * 1024


def test_toml_without_a_parser_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, {"c.toml": 'repo_id = "org/toml"\n'})
    assert [m.id for m in take_inventory(tmp_path).models] == ["org/toml"]
    monkeypatch.setattr(configs, "TOML_AVAILABLE", False)
    inventory = take_inventory(tmp_path)
    assert not inventory.models and any("TOML" in n for n in inventory.notes)


def test_no_such_folder(tmp_path: Path) -> None:
    from policy.errors import UsageError

    with pytest.raises(UsageError, match="no such folder"):
        take_inventory(tmp_path / "missing")
    (tmp_path / "f.py").write_text("x = 1\n")
    with pytest.raises(UsageError, match="not a folder"):
        take_inventory(tmp_path / "f.py")


def test_documentation_names_models_only_in_links_code_and_model_like_ids(tmp_path: Path) -> None:
    _write(tmp_path, {"README.md": "Use `meta-llama/Llama-3.2-1B`, not `Core/Element`, `localdir/file1`,\n"
                                   "`project-a/nginx-web-app` or `report/page.j2`.\n",
                      "guide.rst": "See ``org/Model-7B`` and https://huggingface.co/org/linked-1B for details.\n"})
    inventory = take_inventory(tmp_path)
    assert {(m.id, loc.where) for m in inventory.models for loc in m.locations} == {
        ("meta-llama/Llama-3.2-1B", "README.md:1"), ("org/linked-1B", "guide.rst:1")}


def test_the_trigger_words_spare_the_parse_of_unrelated_files(tmp_path: Path) -> None:
    from policy.scan.inventory.python import hot_lines, triggered

    assert not triggered(b"import os\nprint(os.getcwd())\n")
    assert triggered(b"x = AutoModel.from_pretrained(name)") and triggered(b'p.add_argument("--model-id")')
    assert triggered(b"client.create(model='gpt-4o')") and triggered(b"base_model: str = 'x'")
    assert hot_lines("a = 1\nb = f(model=x)\n\nc = y.from_pretrained(z)\n") == [2, 4]


def test_distinct_models_are_bounded(tmp_path: Path) -> None:
    _write(tmp_path, {"many.yaml": "".join(f"m{i}:\n  model: org/model-{i}\n" for i in range(50))})
    inventory = take_inventory(tmp_path, Limits(max_models=10))
    assert len(inventory.models) == 10 and inventory.incomplete == "more than 10 models"
