"""Weights in the repository: what their own headers declare, read bounded (the weights themselves never are).

- GGUF: the header (policy.scan.headers' parser, over a prefix of the file that grows up to a bound):
  `general.license` (or its name) and the base models (`general.base_model.N.repo_url`, else organization/name
  when that is a Hub id, else `general.source.huggingface.repository`). A header read only in part keeps what
  was read before the failure, and says so.
- safetensors: the 8-byte length and the JSON header, whole when it is at most a bound, else only a leading
  `__metadata__` object; from the metadata `license` (or `modelspec.license`) and `base_model`.
- a transformers model folder: its `config.json` (`_name_or_path`: the model it was saved from, a Hub id when it
  has that shape) and a PEFT adapter's `adapter_config.json` (`base_model_name_or_path`).

A GGUF file is a model of its own (its path is its id); safetensors shards and the configuration files of one
folder are one model (the folder's path).
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
import struct
from typing import Any

from policy.scan.headers import GgufHeader, HeaderError, HeaderTruncated, parse_gguf_header
from policy.scan.inventory.common import FileResult, Found, Limits, read_bounded
from policy.scan.inventory.shapes import hub_id, hub_id_from_url

FIRST_READ = 256 * 1024
MODEL_CONFIGS = frozenset({"config.json", "adapter_config.json"})
# Files of a model folder that say nothing of the model's identity the two above do not: not read as configuration.
FOLDER_FILES = frozenset({"tokenizer_config.json", "generation_config.json", "preprocessor_config.json",
                          "special_tokens_map.json", "tokenizer.json", "model.safetensors.index.json",
                          "pytorch_model.bin.index.json", "added_tokens.json", "vocab.json"})


def model_id(rel: str) -> str:
    """The id of the model a file of a folder belongs to: the folder (`models/classifier`), or the file itself at
    the repository's root."""
    folder = posixpath.dirname(rel)
    return folder or rel


def read_gguf(path: str, rel: str, limits: Limits) -> tuple[FileResult, int]:
    """The GGUF header of a file (and the bytes read for it)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return FileResult(problems=((f"cannot be opened ({exc.strerror or exc})", 0, 0),)), 0
    header: GgufHeader | None = None
    note = ""
    data = b""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return FileResult(problems=(("not a regular file", 0, 0),)), 0
        size = info.st_size
        want = min(FIRST_READ, limits.max_header_bytes, size)
        while True:
            while len(data) < want:
                part = os.read(fd, want - len(data))
                if not part:
                    break
                data += part
            try:
                header = parse_gguf_header(data, file_size=size)
                break
            except HeaderTruncated as exc:
                if exc.needed > limits.max_header_bytes or len(data) >= min(size, limits.max_header_bytes):
                    header = exc.partial
                    note = f"GGUF header larger than {limits.max_header_bytes // (1024 * 1024)} MiB: read in part"
                    break
                want = min(limits.max_header_bytes, size, max(2 * len(data), exc.needed))
            except HeaderError as exc:
                header = exc.partial
                note = f"GGUF header not read whole: {exc}"
                break
    except OSError as exc:
        return FileResult(problems=((f"cannot be read ({exc.strerror or exc})", 0, 0),)), len(data)
    finally:
        os.close(fd)
    if header is None:
        return FileResult(problems=((note or "not a GGUF header", 0, 0),)), len(data)
    bases = _gguf_bases(header)
    license_ = header.license or header.license_name
    found = Found(rel, "local-weights", 0, "weights", "GGUF header", license=license_, base_models=tuple(bases),
                  weight_file=rel, note=note)
    return FileResult((found,), ((note, 0, 0),) if note else ()), len(data)


def _gguf_bases(header: GgufHeader) -> list[str]:
    out: list[str] = []
    for base in header.base_models:
        found = hub_id_from_url(base.repo_url or "") if base.repo_url else None
        if not found and base.organization and base.name:
            found = hub_id(f"{base.organization}/{base.name}")
        if found:
            out.append(found)
    if not out and header.source_repository:
        found = hub_id(header.source_repository) or hub_id_from_url(header.source_repository)
        if found:
            out.append(found)
    return list(dict.fromkeys(out))


def read_safetensors(path: str, rel: str, limits: Limits) -> tuple[FileResult, int]:
    """The `__metadata__` of a safetensors file's JSON header (and the bytes read for it)."""
    read = read_bounded(path, 8 + limits.max_safetensors_header, prefix=True)
    if read.problem:
        return FileResult(problems=((read.problem, 0, 0),)), 0
    data = read.data
    if len(data) < 8:
        return FileResult(problems=(("not a safetensors file (shorter than its header length)", 0, 0),)), len(data)
    (length,) = struct.unpack("<Q", data[:8])
    if length < 2 or length > read.size - 8:
        return FileResult(problems=(("not a safetensors file (its header length does not fit the file)", 0, 0),)), \
            len(data)
    header = data[8:8 + length]
    metadata: Any = None
    note = ""
    text = header.decode("utf-8", errors="replace")
    if length <= limits.max_safetensors_header:
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return FileResult(problems=(("safetensors header is not JSON", 0, 0),)), len(data)
        metadata = parsed.get("__metadata__") if isinstance(parsed, dict) else None
    else:
        start = text.lstrip()
        if start.startswith("{") and start[1:].lstrip().startswith('"__metadata__"'):
            rest = start[1:].lstrip()[len('"__metadata__"'):].lstrip().removeprefix(":")
            try:
                metadata, _ = json.JSONDecoder().raw_decode(rest.lstrip())
            except (ValueError, RecursionError):
                metadata = None
        if metadata is None:
            note = (f"safetensors header larger than {limits.max_safetensors_header // 1024} KiB and its metadata "
                    "is not at its start: not read")
    license_: str | None = None
    bases: list[str] = []
    if isinstance(metadata, dict):
        for key in ("license", "modelspec.license"):
            if isinstance(metadata.get(key), str) and metadata[key].strip():
                license_ = metadata[key].strip()[:200]
                break
        for key in ("base_model", "modelspec.base_model"):
            value = metadata.get(key)
            found = hub_id(value) if isinstance(value, str) else None
            if found:
                bases.append(found)
    found_ = Found(model_id(rel), "local-weights", 0, "weights", "safetensors metadata", license=license_,
                   base_models=tuple(bases), weight_file=rel, note=note)
    return FileResult((found_,), ((note, 0, 0),) if note else ()), len(data)


def model_config(text: str, rel: str) -> FileResult | None:
    """A transformers model folder's `config.json` or a PEFT `adapter_config.json`: the folder is local weights,
    and the model it was saved from (or adapts) is its base when that is a Hub id. None for a `config.json` that
    is no model's configuration (it is then read as any JSON file)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    name = posixpath.basename(rel)
    if name == "adapter_config.json":
        key = "base_model_name_or_path"
        if not isinstance(data.get("peft_type"), str) and key not in data:
            return None
    elif any(k in data for k in ("_name_or_path", "architectures", "model_type")):
        key = "_name_or_path"
    else:
        return None
    value = data.get(key)
    base = hub_id(value, bare=True) if isinstance(value, str) else None
    line = 0
    if base:
        at = text.find(json.dumps(value))
        line = text.count("\n", 0, at) + 1 if at >= 0 else 0
    detail = f"{name} {key}" if base else name
    return FileResult((Found(model_id(rel), "local-weights", line, "weights", detail,
                             base_models=(base,) if base else ()),))
