"""Local targets: a model card file (README.md with front matter), a model folder, and `--cards DIR`.

`--cards DIR` holds cards named `org__name.md` or laid out `org/name/README.md` (datasets the same, under a
`datasets/` sub-folder); the shipped curations fill in what no card is at hand for.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from policy.errors import InputError
from policy.model.facts import INVALID, OK, UNAVAILABLE, CardNote, ModelFacts
from policy.scan.cards import declared_license, decode_card, parse_card
from policy.scan.ids import looks_like_repo_id, repo_id_problem

CARD_FILE_NAMES = ("readme.md", "model_card.md")


def card_id_from_path(path: Path) -> str:
    """`org__name.md` -> `org/name`; `.../org/name/README.md` -> `org/name`; else the file or folder name.

    A repo's card file (`README.md`, or `MODEL_CARD.md` as some teams keep it) is named by its folder."""
    if path.name.lower() in CARD_FILE_NAMES:
        folder = path.resolve().parent
        parent = folder.parent.name
        if parent and parent not in ("", "/") and looks_like_repo_id(f"{parent}/{folder.name}") and \
                _is_layout_root_child(folder):
            return f"{parent}/{folder.name}"
        return folder.name
    stem = path.stem
    if "__" in stem:
        org, _, name = stem.partition("__")
        return f"{org}/{name}"
    return stem


def _is_layout_root_child(folder: Path) -> bool:
    # `org/name/README.md` inside a cards tree; a lone repo checkout is named by its folder only.
    return not (folder / ".git").exists()


def read_card_file(path: Path, model_id: str | None = None, kind: str = "model",
                   files: Sequence[str] = ()) -> ModelFacts:
    """Facts from a card file. Raises InputError when it cannot be read or its front matter is broken."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    card = parse_card(decode_card(raw, str(path)), str(path))
    beside = path.name.lower() in CARD_FILE_NAMES and kind == "model"  # a repo's card: its folder is the repo
    config, config_note = read_config(path.parent) if beside else ({}, None)
    return ModelFacts(
        id=model_id or card_id_from_path(path), kind=kind, source="file", status=OK, revision=None,
        license=declared_license(card.fields), card=card.fields, card_text=card.body, files=tuple(files),
        notes=(*card.notes, config_note) if config_note else card.notes, path=str(path), card_lines=card.key_lines,
        body_line=card.body_line, config=config,
        eval_results=read_eval_results(path.parent) if path.name.lower() == "readme.md" else {})


CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 2 * 1024 * 1024  # a real config.json is a few KB; ImageNet-21k label maps reach about 1 MB
MAX_ARCHITECTURES = 8
_ARCHITECTURE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")  # a Python class name, as transformers writes them


def read_config(folder: Path) -> tuple[dict[str, Any], CardNote | None]:
    """The `architectures` of the config.json beside a local card (what kind of model the repo holds: a
    `*ForCausalLM` is a causal language model), read as hostile JSON: a regular file (a FIFO or a device is never
    waited on or read) of at most MAX_CONFIG_BYTES, parsed as data only, and nothing kept but a list of at most
    eight class names. A file that is there but cannot be read that way says nothing, with a note saying why."""
    path = folder / CONFIG_FILE
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # opening a FIFO must not wait for a writer
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, _config_note(f"cannot be read ({exc.strerror})")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a folder, a FIFO, a device: never read
            return {}, _config_note("is not a regular file")
        raw = _read_at_most(fd, MAX_CONFIG_BYTES + 1) if info.st_size <= MAX_CONFIG_BYTES else b""
    except OSError as exc:
        return {}, _config_note(f"cannot be read ({exc.strerror})")
    finally:
        os.close(fd)
    if info.st_size > MAX_CONFIG_BYTES or len(raw) > MAX_CONFIG_BYTES:
        return {}, _config_note(f"is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested beyond the parser, a number too long
        return {}, _config_note("is not JSON")
    archs = data.get("architectures") if isinstance(data, dict) else None
    if not isinstance(archs, list):
        return {}, None
    kept = [a for a in archs[:MAX_ARCHITECTURES] if isinstance(a, str) and _ARCHITECTURE.fullmatch(a)]
    return ({"architectures": kept} if kept else {}), None


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes of an open file (a file that grows while it is read stops at the limit)."""
    parts: list[bytes] = []
    left = limit
    while left > 0:
        part = os.read(fd, left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _config_note(why: str) -> CardNote:
    return CardNote("config-not-read", f"{CONFIG_FILE} beside the card {why}: not read for what kind of model it is")


EVAL_RESULTS_DIR = ".eval_results"
MAX_EVAL_FILES = 20
MAX_EVAL_BYTES = 256 * 1024


def read_eval_results(folder: Path) -> dict[str, Any]:
    """The `.eval_results/*.yaml` files of a model folder (the Hub's newer evaluation format), parsed with the
    guarded loader; at most 20 files of 256 KB, a file that does not parse is left out."""
    base = folder / EVAL_RESULTS_DIR
    if not base.is_dir():
        return {}
    return parse_eval_results({p.name: p.read_bytes() for p in sorted(base.glob("*.y*ml"))[:MAX_EVAL_FILES]
                               if p.is_file() and p.stat().st_size <= MAX_EVAL_BYTES})


def parse_eval_results(files: dict[str, bytes]) -> dict[str, Any]:
    import yaml

    from policy.yamlload import load_fast

    out: dict[str, Any] = {}
    for name, raw in files.items():
        try:
            out[name] = load_fast(raw.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError):  # a broken file is no claim; the card's own are still read
            continue
    return out


# A repo's license file, read whole to be compared with the catalog's texts (policy/evidence/licensefiles.py)
LICENSE_FILE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt",
                      "LICENSE-MODEL", "LICENSE_MODEL", "license", "license.md", "license.txt")
MAX_LICENSE_FILE = 512 * 1024  # bytes: the longest license text the catalog holds is about 60 KB


def read_license_file(folder: Path) -> tuple[str, str] | None:
    """The folder's LICENSE file (name, text), at most MAX_LICENSE_FILE bytes; a symbolic link, a file that is
    not regular or a larger file is not read (a cloned repository is hostile input)."""
    try:
        present = {entry.name for entry in os.scandir(folder)} if len(LICENSE_FILE_NAMES) > 1 else set()
    except OSError:
        return None
    for name in LICENSE_FILE_NAMES:
        if name not in present:
            continue  # one listing of the folder instead of a failed open per name
        path = folder / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            raw = _read_at_most(fd, MAX_LICENSE_FILE + 1)
        finally:
            os.close(fd)
        if len(raw) > MAX_LICENSE_FILE:
            return None
        return name, raw.decode("utf-8", errors="replace")
    return None


def read_target(target: str) -> ModelFacts:
    """A card file or a model folder given on the command line."""
    path = Path(target)
    if path.is_dir():
        readme = next((path / n for n in ("README.md", "readme.md", "Readme.md") if (path / n).is_file()), None)
        if readme is None:
            raise InputError(f"{target}: no README.md (model card) in this folder")
        files = sorted(str(p.relative_to(path)).replace(os.sep, "/") for p in path.rglob("*")
                       if p.is_file() and ".git" not in p.parts)
        return read_card_file(readme, card_id_from_path(readme), files=files)
    if path.is_file():
        return read_card_file(path)
    raise InputError(f"{target}: no such file or folder")


MAX_LISTED = 10_000  # entries of one card folder listed to resolve display names


def name_key(name: str) -> str:
    """A repo name compared without case or separators: `Deepseek_Coder-6.7B-base` is `deepseek-coder-6.7b-base`."""
    return "".join(c for c in name.lower() if c.isalnum())


class LocalSource:
    """Ancestor facts from folders of cards; whatever is not there is `unavailable` offline."""

    def __init__(self, card_dirs: Sequence[Path] = (), missing_detail: str = "not available offline") -> None:
        self.card_dirs = tuple(Path(d) for d in card_dirs)
        self.missing_detail = missing_detail

    def ids_named(self, name: str) -> list[str]:
        """The model ids of the card folders whose repo name is `name` (case, `-`, `_` and `.` ignored): how a
        display name written in prose ("deepseek-coder-6.7b-base") resolves offline. The folders' file names
        are listed once (at most MAX_LISTED entries per folder)."""
        if not hasattr(self, "_by_name"):
            index: dict[str, list[str]] = {}
            for root in self.card_dirs:
                try:
                    entries = sorted(os.listdir(root))[:MAX_LISTED]
                except OSError:
                    continue
                for entry in entries:
                    if entry.endswith(".md") and "__" in entry:  # org__name.md
                        org, _, repo = entry[:-3].partition("__")
                        index.setdefault(name_key(repo), []).append(f"{org}/{repo}")
                    elif (root / entry).is_dir():
                        try:
                            subs = sorted(os.listdir(root / entry))[:MAX_LISTED]
                        except OSError:
                            continue
                        for repo in subs:
                            if (root / entry / repo / "README.md").is_file():
                                index.setdefault(name_key(repo), []).append(f"{entry}/{repo}")
            self._by_name = index
        return list(dict.fromkeys(self._by_name.get(name_key(name), [])))

    def find(self, model_id: str, kind: str) -> Path | None:
        org, _, name = model_id.partition("/")
        flat = f"{org}__{name}.md" if name else f"{org}.md"
        nested = Path(org, name, "README.md") if name else Path(org, "README.md")
        for root in self.card_dirs:
            bases = (root / "datasets", root) if kind == "dataset" else (root,)
            for base in bases:
                for candidate in (base / flat, base / nested):
                    if candidate.is_file():
                        return candidate
        return None

    def fetch_one(self, model_id: str, kind: str) -> ModelFacts:
        problem = repo_id_problem(model_id)
        if problem:
            return ModelFacts(id=model_id, kind=kind, source="none", status=INVALID, status_detail=problem)
        path = self.find(model_id, kind)
        if path is None:
            return ModelFacts(id=model_id, kind=kind, source="none", status=UNAVAILABLE,
                              status_detail=self.missing_detail)
        files: list[str] = []
        if path.name == "README.md":
            files = sorted(p.name for p in path.parent.iterdir() if p.is_file())
        try:
            return read_card_file(path, model_id, kind, files)
        except InputError as exc:
            return ModelFacts(id=model_id, kind=kind, source="file", status=INVALID, status_detail=exc.message,
                              path=str(path))

    def fetch_many(self, keys: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], ModelFacts]:
        return {(mid, kind): self.fetch_one(mid, kind) for mid, kind in keys}
