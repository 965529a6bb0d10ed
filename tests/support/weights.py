"""Tiny weight files for tests: a GGUF file with a header and no tensors, a safetensors file with metadata and one
tensor. `python -m tests.support.weights` writes the ones the inventory fixture commits
(tests/fixtures/inventory_app/models/), and a test keeps them equal to what this writes."""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "inventory_app"

T_U32, T_STRING = 4, 8


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def gguf_bytes(values: Mapping[str, str | int]) -> bytes:
    """A GGUF v3 file with these metadata pairs (strings and u32 integers) and no tensor."""
    out = [b"GGUF", struct.pack("<I", 3), struct.pack("<Q", 0), struct.pack("<Q", len(values))]
    for key, value in values.items():
        out.append(_string(key))
        if isinstance(value, int):
            out += [struct.pack("<I", T_U32), struct.pack("<I", value)]
        else:
            out += [struct.pack("<I", T_STRING), _string(value)]
    return b"".join(out)


def safetensors_bytes(metadata: Mapping[str, str], *, metadata_first: bool = True, pad_to: int = 0) -> bytes:
    """A safetensors file with one float32 tensor of one element and this `__metadata__`. `pad_to`: the header is
    padded with spaces to at least this many bytes (a header larger than a reader's bound)."""
    tensor = {"weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    header = {"__metadata__": dict(metadata), **tensor} if metadata_first else {**tensor,
                                                                               "__metadata__": dict(metadata)}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    size = max(len(raw), pad_to)
    size += (-size) % 8
    raw = raw.ljust(size, b" ")
    return struct.pack("<Q", len(raw)) + raw + struct.pack("<f", 0.5)


TINY_GGUF = {
    "general.architecture": "qwen2",
    "general.name": "Tiny Assistant",
    "general.license": "apache-2.0",
    "general.base_model.count": 1,
    "general.base_model.0.name": "Qwen2.5 0.5B Instruct",
    "general.base_model.0.organization": "Qwen",
    "general.base_model.0.repo_url": "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct",
}
CLASSIFIER_METADATA = {"format": "pt", "license": "mit"}


def fixture_files() -> dict[Path, bytes]:
    return {APP / "models" / "tiny.gguf": gguf_bytes(TINY_GGUF),
            APP / "models" / "classifier" / "model.safetensors": safetensors_bytes(CLASSIFIER_METADATA)}


def main() -> int:
    for path, data in fixture_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
