"""Command lines and the files made of them: shell scripts (and `.env` files, Makefiles), Dockerfiles, Ollama
Modelfiles, and the `command:` / `args:` of compose files and Kubernetes manifests (policy.scan.inventory.configs).

What names a model on a command line:
- a download: `huggingface-cli download org/name`, `hf download org/name` (not `--repo-type dataset` or `space`),
  a Hub URL (`wget https://huggingface.co/org/name/resolve/...`, `git clone https://huggingface.co/org/name`);
- a server's model: `vllm serve org/name`, `--model-id` (TGI), `--model`, `--model-path`, `--hf-repo` / `-hf`
  (llama.cpp), `--tokenizer`, `--speculative-model` (an `org/name` value only);
- `ollama pull|run hf.co/org/name:quant` (a Hub repo) or `ollama run llama3.2` (the Ollama library);
- an environment variable that holds a model (`HF_MODEL_ID=org/name`, `export MODEL_ID=...`, `ENV` and `ARG` of a
  Dockerfile, `${MODEL_ID:-org/name}`): configuration, overridden by that variable.

Lines are read as text and split as a shell would split words (`shlex`, nothing is expanded or run); a line that
does not split (an open quote) is split on spaces.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterator, Sequence

from policy.scan.inventory.common import FileResult, Found
from policy.scan.inventory.shapes import hub_id, hub_id_from_url, is_model_setting

MAX_LINE = 64 * 1024  # a logical line longer than this is not split into words
MAX_FOUND = 2000

SERVE_FLAGS = frozenset({"--model-id", "--model_id", "--model", "--model-name-or-path", "--model_name_or_path",
                         "--model-path", "--model_path", "--hf-repo", "--hf_repo", "-hf", "-hfr", "--tokenizer",
                         "--speculative-model", "--draft-model", "--base-model", "--base_model", "--model-repo"})
DOWNLOADERS = frozenset({"huggingface-cli", "hf", "transformers-cli"})
OPERATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", ";;", "|&"})
_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?[-=]([^}]*)\}")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_OLLAMA_LIBRARY = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}(?::[A-Za-z0-9._-]{1,64})?")


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined; blank lines and comment lines left out."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not parts:
            start = number
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        elif line.lstrip().startswith("#"):  # a comment inside a continued command
            continue
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def words(line: str) -> list[str]:
    """The words of a command line as a shell splits them (quotes removed, comments dropped, `;`, `&&` and `|`
    as words of their own); on a line that does not split, its spaces."""
    if len(line) > MAX_LINE:
        return []
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:
        return line.split()


def commands(tokens: Sequence[str]) -> Iterator[list[str]]:
    """The simple commands of a list of words, split at `;`, `&&`, `||`, `|`."""
    current: list[str] = []
    for token in tokens:
        if token in OPERATORS:
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _value(token: str) -> tuple[str, str]:
    """A word's value and the variable that overrides it: `${MODEL:-org/name}` -> (`org/name`, `MODEL`)."""
    match = _DEFAULT.fullmatch(token)
    if match:
        return match.group(2), match.group(1)
    return token, ""


def scan_command(tokens: Sequence[str], line: int, *, detail_prefix: str = "") -> list[Found]:
    """The models one command (its words) names."""
    out: list[Found] = []
    i = 0
    # leading assignments (`MODEL_ID=org/name python app.py`), and `export` / `env` ones
    words_ = list(tokens)
    while words_ and words_[0] in ("export", "env", "declare", "readonly", "local", "sudo", "exec", "-x"):
        words_ = words_[1:]
    while i < len(words_):
        match = _ASSIGN.fullmatch(words_[i])
        if match is None:
            break
        out.extend(env_assignment(match.group(1), match.group(2), line, detail=f"{detail_prefix}{match.group(1)}="))
        i += 1
    rest = words_[i:]
    if not rest:
        return out
    program = posixpath.basename(rest[0])
    detail = f"{detail_prefix}{program}" if not program.startswith("-") else detail_prefix.rstrip(": ")
    lowered = [w.lower() for w in rest]
    if program in DOWNLOADERS and len(rest) > 1 and rest[1] == "download":
        kinds = [lowered[j + 1] for j, w in enumerate(lowered[:-1]) if w == "--repo-type"]
        kinds += [w.split("=", 1)[1] for w in lowered if w.startswith("--repo-type=")]
        if not any(k in ("dataset", "space") for k in kinds):
            target = next((w for w in rest[2:] if not w.startswith("-")), "")
            value, setting = _value(target)
            found = hub_id(value, bare=True)
            if found:
                out.append(Found(found, "hub", line, "downloaded", f"{detail} download", setting))
    if program == "vllm" and len(rest) > 2 and rest[1] == "serve":
        value, setting = _value(rest[2])
        found = hub_id(value, bare=True)
        if found:
            out.append(Found(found, "hub", line, "loaded", "vllm serve", setting))
    if program == "ollama" and len(rest) > 2 and rest[1] in ("pull", "run", "create", "cp", "show"):
        if rest[1] != "create":
            ref = ollama_ref(_value(rest[2])[0])
            if ref:
                out.append(Found(ref[0], ref[1], line, "downloaded" if rest[1] == "pull" else "loaded",
                                 f"ollama {rest[1]}{ref[2]}"))
    for j, token in enumerate(rest):
        flag, eq, inline = token.partition("=")
        if flag in SERVE_FLAGS and flag.startswith("-"):
            raw = inline if eq else (rest[j + 1] if j + 1 < len(rest) else "")
            value, setting = _value(raw)
            found = hub_id(value)
            if found:
                out.append(Found(found, "hub", line, "loaded", f"{detail} {flag}".strip(), setting))
        elif "huggingface.co/" in token or "hf.co/" in token:
            if program == "ollama":
                continue
            found = hub_id_from_url(token)
            if found:
                out.append(Found(found, "hub", line, "downloaded", f"{detail} (Hub URL)"))
    return out


def env_assignment(name: str, raw: str, line: int, *, detail: str = "") -> list[Found]:
    """`NAME=value` when NAME holds a model (`HF_MODEL_ID`, `EMBEDDING_MODEL`) and the value is a Hub id:
    configuration, which the variable overrides."""
    if not is_model_setting(name):
        return []
    value, setting = _value(raw.strip().strip("'\""))
    found = hub_id(value)
    if not found:
        return []
    return [Found(found, "hub", line, "config", detail or f"{name}=", setting or name)]


def scan_shell(text: str, *, line_offset: int = 0, prompt: bool = False) -> FileResult:
    """A shell script, a `.env` file, a Makefile's recipes, or a code block of documentation (`prompt`: lines
    may begin with `$ `)."""
    found: list[Found] = []
    for number, line in logical_lines(text):
        if prompt:
            line = re.sub(r"^\s*[$%>]\s+", "", line)
        for command in commands(words(line)):
            found.extend(scan_command(command, number + line_offset))
        if len(found) > MAX_FOUND:
            break
    return FileResult(tuple(found[:MAX_FOUND]))


def scan_dockerfile(text: str) -> FileResult:
    """A Dockerfile: `ENV` and `ARG` that hold a model (configuration), and the commands of `RUN`, `CMD` and
    `ENTRYPOINT` (shell or JSON form)."""
    found: list[Found] = []
    for number, line in logical_lines(text):
        instruction, _, rest = line.strip().partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        if instruction in ("ENV", "ARG"):
            tokens = words(rest)
            if len(tokens) >= 2 and "=" not in tokens[0]:  # legacy `ENV NAME value`
                found.extend(env_assignment(tokens[0], " ".join(tokens[1:]), number,
                                            detail=f"{instruction} {tokens[0]}"))
                continue
            for token in tokens:
                match = _ASSIGN.fullmatch(token)
                if match:
                    found.extend(env_assignment(match.group(1), match.group(2), number,
                                                detail=f"{instruction} {match.group(1)}"))
        elif instruction in ("RUN", "CMD", "ENTRYPOINT"):
            tokens = _exec_form(rest)
            if tokens is None:
                for command in commands(words(rest)):
                    found.extend(scan_command(command, number, detail_prefix=f"{instruction} "))
            else:
                found.extend(scan_command(tokens, number, detail_prefix=f"{instruction} "))
        if len(found) > MAX_FOUND:
            break
    return FileResult(tuple(found[:MAX_FOUND]))


def _exec_form(rest: str) -> list[str] | None:
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def ollama_ref(text: str) -> tuple[str, str, str] | None:
    """(id, kind, tag note) of a model an Ollama command or Modelfile names: `hf.co/org/name:Q4_K_M` is the Hub
    repo `org/name`; `llama3.2:3b` a model of the Ollama library (`ollama/llama3.2:3b`)."""
    text = text.strip()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    for host in ("hf.co/", "huggingface.co/", "www.huggingface.co/"):
        if text.lower().startswith(host):
            repo, _, tag = text[len(host):].partition(":")
            found = hub_id(repo)
            return (found, "hub", f" (tag {tag})" if tag else "") if found else None
    if text.startswith(("registry.ollama.ai/library/", "ollama.com/library/")):
        text = text.split("/library/", 1)[1]
    if _OLLAMA_LIBRARY.fullmatch(text) and any(c.isalpha() for c in text):
        return f"ollama/{text}", "ollama", ""
    return None


def scan_modelfile(text: str, folder: str) -> FileResult:
    """An Ollama Modelfile: `FROM` (and `ADAPTER`) name a Hub repo (`hf.co/org/name:quant`), a model of the
    Ollama library, or weights in the repository (a path, relative to the Modelfile's folder)."""
    found: list[Found] = []
    problems: list[tuple[str, int, int]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        instruction, _, value = raw.strip().partition(" ")
        if instruction.upper() not in ("FROM", "ADAPTER"):
            continue
        value = value.strip().strip("'\"")
        detail = f"{instruction.upper()} of a Modelfile"
        if not value:
            continue
        if value.startswith(("./", "../", "/", "~")) or value.lower().endswith((".gguf", ".safetensors", ".bin")):
            target = posixpath.normpath(posixpath.join(folder, value)) if not value.startswith(("/", "~")) else ""
            if not target or target.startswith("../") or target == "..":
                problems.append((f"{detail} names {value[:80]!r}, outside the repository", number, 1))
                continue
            found.append(Found(target, "local-weights", number, "loaded", detail, weight_file=target))
            continue
        ref = ollama_ref(value)
        if ref:
            found.append(Found(ref[0], ref[1], number, "loaded", detail + ref[2]))
    return FileResult(tuple(found[:MAX_FOUND]), tuple(problems[:20]))
