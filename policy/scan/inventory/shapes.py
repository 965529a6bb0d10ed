"""What a model reference looks like: a Hub id's shape (conservatively: repositories are full of `text/plain`,
`utf-8` and `./models/x`), Hub URLs, provider model names, and the setting names that hold a model.

Pure: no I/O, no parsing of files.
"""

from __future__ import annotations

import re

from policy.scan.ids import repo_id_problem

MAX_VALUE = 200  # a reference longer than this is no model id

# The top-level types of media types: `text/plain`, `application/json`, `image/png` are not Hub ids.
_MEDIA_TYPES = frozenset({"application", "audio", "font", "image", "message", "model", "multipart", "text", "video",
                          "chemical", "x-world", "example"})
# First segments that name a folder of a repository, not an organisation on the Hub (`models/bert` is a local path).
_PATH_ORGS = frozenset({
    "src", "lib", "libs", "test", "tests", "doc", "docs", "data", "dataset", "datasets", "model", "models",
    "checkpoint", "checkpoints", "ckpt", "ckpts", "output", "outputs", "out", "tmp", "temp", "var", "usr", "etc",
    "home", "opt", "bin", "app", "apps", "config", "configs", "conf", "local", "cache", "weights", "assets",
    "static", "build", "dist", "runs", "logs", "scripts", "resources", "artifacts", "mnt", "workspace", "root",
    "and", "or", "true", "false", "yes", "no", "n", "a", "none", "null", "input", "read", "origin", "refs",
    "heads", "tags", "main", "master", "http", "https", "file", "s3", "gs", "api", "v1", "v2", "v3",
})
# A name ending like a file is a path (`app/main.py`, `conf/settings.yaml`), not a repo. Hub names with dots
# (`Qwen2.5-7B`, `DeepSeek-V2.5`) end otherwise.
_FILE_SUFFIX = re.compile(
    r"\.(py|pyc|pyi|ipynb|json|jsonl|ya?ml|toml|ini|cfg|conf|txt|md|rst|csv|tsv|parquet|arrow|html?|css|js|ts|"
    r"sh|bash|zsh|ps1|bat|exe|dll|so|dylib|zip|gz|tgz|bz2|xz|zst|tar|whl|png|jpe?g|gif|svg|webp|ico|pdf|docx?|"
    r"xlsx?|pptx?|wav|mp3|flac|ogg|mp4|mov|avi|bin|pt|pth|ckpt|safetensors|gguf|onnx|h5|pb|tflite|pkl|pickle|"
    r"npz|npy|model|log|lock|env|xml|sql|db|sqlite|c|h|cc|cpp|hpp|rs|go|java|kt|rb|php|lua|r|jl|swift|jsonld|j2|"
    r"jinja2?|tmpl|tpl|mdx)$",
    re.IGNORECASE)
_DIGITS = re.compile(r"[0-9._-]+")
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,5}$")  # `.jsonld`, `.j2`: a file, when a text names it in passing
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def hub_id(value: object, *, bare: bool = False) -> str | None:
    """`value` when it has the shape of a Hub model id (`org/name`), else None. `bare`: a one-word id (`gpt2`,
    `bert-base-uncased`) is accepted too, for the places where only a model can stand (the argument of
    `from_pretrained`, `huggingface-cli download`). Conservative: media types, file paths, dates, version
    numbers and words such as `and/or` are refused, and so is anything `policy.scan.ids` refuses."""
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
        return None
    text = value.strip()
    if text != value or repo_id_problem(text) is not None:
        return None
    if "/" not in text:
        if not bare or _DIGITS.fullmatch(text) or _FILE_SUFFIX.search(text) or text.lower() in _PATH_ORGS:
            return None
        return text if any(c.isalpha() for c in text) and len(text) >= 3 else None
    org, name = text.split("/", 1)
    low = org.lower()
    if low in _MEDIA_TYPES or low in _PATH_ORGS or name.lower() in _PATH_ORGS:
        return None
    if _DIGITS.fullmatch(org) or _DIGITS.fullmatch(name) or _FILE_SUFFIX.search(name):
        return None
    if not any(c.isalpha() for c in name) or len(org) < 2:
        return None
    return text


def named_in_prose(text: str) -> str | None:
    """`text` when, written in passing in documentation (`` `org/name` ``), it is a Hub id that also looks like a
    model's name: a digit and a hyphen in the name (`Llama-3.2-1B`, `all-MiniLM-L6-v2`), and no file-like ending
    (`Core/Element`, `localdir/file1`, `project-a/web-app`, `report/page.j2` are not taken)."""
    found = hub_id(text)
    if not found or "/" not in found:
        return None
    name = found.split("/", 1)[1]
    if not any(c.isdigit() for c in name) or "-" not in name or _EXTENSION.search(name):
        return None
    return found


_HUB_URL = re.compile(
    r"(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/(?!datasets/|spaces/|docs/|blog/|api/|papers/|collections/"
    r"|models\b|organizations/|settings/|join|login|pricing|learn/|tasks/|posts/|new\b)"
    r"([A-Za-z0-9][A-Za-z0-9._-]{0,95})/([A-Za-z0-9][A-Za-z0-9._-]{0,95})")


def hub_id_from_url(text: str) -> str | None:
    """The model repo of a Hub URL (`https://huggingface.co/org/name/resolve/main/x.gguf` -> `org/name`), not of
    a dataset, a Space or a page of the Hub's own site."""
    match = _HUB_URL.match(text.strip())
    if not match:
        return None
    return hub_id(f"{match.group(1)}/{match.group(2).removesuffix('.git')}")


HUB_URLS = re.compile(r"https?://(?:www\.)?(?:huggingface\.co|hf\.co)/[^\s)\]>\"'`]+")


def hub_ids_in_text(text: str) -> list[str]:
    """The model repos of every Hub URL in a line of text."""
    out = []
    for match in HUB_URLS.finditer(text):
        found = hub_id_from_url(match.group(0))
        if found:
            out.append(found)
    return out


def api_model(value: object) -> str | None:
    """`value` when it can be a provider's model name (`gpt-4o`, `claude-3-5-sonnet-latest`, `models/gemini-pro`),
    else None: one word of letters, digits, `.`, `-`, `_`, `:` and `@`, with at most two `/`."""
    if not isinstance(value, str) or not value or len(value) > 100 or value.count("/") > 2:
        return None
    return value if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:@/-]*", value) else None


# Providers whose terms the catalog knows (`rules/licenses/provider-*.yaml`, `api_models`), and how a model name
# of theirs is written as an id there.
PROVIDER_PREFIX = {"openai": "openai", "azure-openai": "azure-openai", "anthropic": "anthropic", "google": "google",
                   "mistral": "mistral-api"}
_BY_NAME = (  # a model name alone names its provider (used when the client could not be told)
    (re.compile(r"(gpt-|o[1-9](-|$)|chatgpt|text-embedding-|text-davinci|dall-e|whisper-1|tts-1)", re.I), "openai"),
    (re.compile(r"claude", re.I), "anthropic"),
    (re.compile(r"(models/)?gemini", re.I), "google"),
    (re.compile(r"(mistral-|open-mistral|open-mixtral|codestral|pixtral|magistral|ministral|devstral)", re.I),
     "mistral"),
)


def provider_of_name(model: str) -> str | None:
    for pattern, provider in _BY_NAME:
        if pattern.match(model):
            return provider
    return None


def provider_model_id(provider: str, model: str) -> str:
    """The id of an API model: `openai/gpt-4o`, `google/gemini-1.5-pro` (the SDK's `models/` prefix taken off),
    `mistral-api/mistral-large-latest`; a name that already says its provider (`anthropic/claude-3`) is kept."""
    name = model.removeprefix("models/") if provider == "google" else model
    prefix = PROVIDER_PREFIX.get(provider, provider)
    if name.lower().startswith(f"{prefix.lower()}/"):
        return name
    return f"{prefix}/{name}"


# Environment variables and settings that hold a model id. Besides these names, any name ending in one of
# MODEL_SUFFIXES (`EMBEDDING_MODEL`, `LLM_MODEL_ID`); a value must still have a Hub id's shape.
MODEL_SETTINGS = frozenset({
    "model", "model_id", "model_name", "model_name_or_path", "pretrained_model_name_or_path", "base_model",
    "base_model_name_or_path", "repo_id", "hub_model_id", "hf_model", "hf_model_id", "hf_model_name", "hf_repo",
    "hf_repo_id", "model_repo", "model_repo_id", "tokenizer_name", "tokenizer_name_or_path", "embedding_model",
    "embed_model", "embedding_model_name", "reranker_model", "rerank_model", "teacher_model", "draft_model",
    "speculative_model", "llm_model", "chat_model", "generator_model", "vision_model", "asr_model", "tts_model",
})
MODEL_SUFFIXES = ("_model", "_model_id", "_model_name", "_model_path", "_repo_id")


def is_model_setting(name: object) -> bool:
    if not isinstance(name, str) or len(name) > 80:
        return False
    low = name.lower().replace("-", "_")
    return low in MODEL_SETTINGS or low.endswith(MODEL_SUFFIXES)


def word(text: str) -> bool:
    return _WORD.fullmatch(text) is not None
