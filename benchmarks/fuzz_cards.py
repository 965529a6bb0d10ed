"""Fuzz campaign: mutated real model cards through `policycheck check --format json` and `policycheck lint --fix`.

    .venv/bin/python benchmarks/fuzz_cards.py [--count 20000] [--seed 1] [--batch 500] [--keep DIR]

Mutants: each is one corpus card (tests/fixtures/corpus/cards, or --corpus DIR) changed by one to three mutations
drawn with a seeded random generator: byte flips and truncation, control characters (NUL, ESC, C1, lone CR),
invalid UTF-8, a byte-order mark, CR LF line ends, lone UTF-16 surrogates written as YAML escapes (`"\\ud800"`),
hostile YAML (alias chains, deep nesting, duplicate keys, `!!python/object` tags, merge keys, huge scalars), lineage
and license fields replaced by odd values (self-references, lists of hundreds of ids, paths, URLs, expressions,
wrong types, misspelled keys and license ids that `--fix` corrects), and front-matter fences removed or doubled.
The same seed gives the same mutants.

Checks, per batch of --batch mutants in one process (a temporary folder; HF_HOME empty, HF_HUB_OFFLINE=1 and
HF_ENDPOINT on a loopback port nobody listens on, so nothing leaves the machine):
- `check --offline --format json`: the exit code is 0, 1, 2 or 3 (never 4 or a signal), standard error holds no
  traceback, standard output is one JSON list with one document per mutant, none of them an internal error.
- `lint --fix --format json`, twice: same exit-code and traceback rules; every file's new bytes are exactly its
  old bytes with the fixes the first run reports as applied (re-applied here independently: `old` must stand at
  line:col), so no byte outside a fix changes; the second run applies nothing and changes nothing (idempotent).
Figures printed at the end: mutants, exit codes, verdicts, fixes applied, failures by kind, wall time, the
largest peak memory of one batch process. The exit code is 0 when nothing failed, 1 otherwise; --keep DIR keeps
the mutants of every failing batch with what failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.peak
CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "cards"
BATCH_TIMEOUT = 600.0  # seconds for one batch process; a batch that takes longer is a failure (a hang)

# --- mutations -----------------------------------------------------------------------------------------------
# Each takes (card bytes, rng) and returns the mutant's bytes.

Mutation = Callable[[bytes, random.Random], bytes]

ODD_VALUES = [
    "", "null", "~", "[]", "{}", "0", "-1", "1e400", "0x1F", "true", "2024-01-01", "'\\ud800'", '"\\ud800"',
    '"\\udfff tail"', '"a\\u0000b"', '"\\x1b[31mred"', '"\\u009b2J"', "!!python/object/apply:os.system ['true']",
    "!!binary aGVsbG8=", "&a [*a]", "*undefined", "{a: {b: {c: {d: [1, [2, [3]]]}}}}", "'" + "x" * 5000 + "'",
    "mit OR apache-2.0 AND (gpl-3.0", "(mit OR apache-2.0) AND (bsd-3-clause OR isc) AND (mpl-2.0 OR gpl-2.0)",
    "MIT", "Apache-2.0", "apache 2.0", "llama3.1", "LLAMA3.1", "other", "unknown", "cc-by-nc-4.0",
    "https://example.invalid/license", "../../../etc/passwd", "[mit, apache-2.0]", "{id: mit}",
]
ODD_IDS = [
    "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "deepseek-ai/DeepSeek-R1", "self", "../x", "a/b/c", "/abs",
    "https://huggingface.co/meta-llama/Llama-3.1-8B", "org/" + "n" * 200, "org/na me", '"org/\\ud800"',
    '"org/x\\nPackageVersion: 6.6.6"', '"org/\\x1b]0;title\\x07"', "openai/gpt-4o", "api:openai/gpt-4o",
]
KEYS = ["license", "license_name", "license_link", "base_model", "base_model_relation", "teacher_model",
        "datasets", "licence", "Base_Model", "base-model", "basemodel", "tags", "model-index", "pipeline_tag"]
RELATIONS = ["finetune", "adapter", "merge", "quantized", "distillation", "Finetune", "fine-tune", "quantised",
             "distill", "nonsense", ""]


def _front_matter_bounds(data: bytes) -> tuple[int, int] | None:
    """(start, end) byte offsets of the front matter's inside, when the card has one."""
    if not data.lstrip(b"\xef\xbb\xbf").startswith(b"---"):
        return None
    start = data.find(b"\n") + 1
    end = data.find(b"\n---", start - 1)
    return (start, end) if start > 0 and end >= start else None


def _insert_front_matter_line(data: bytes, line: bytes, rng: random.Random) -> bytes:
    bounds = _front_matter_bounds(data)
    if bounds is None:
        return b"---\n" + line + b"\n---\n" + data
    start, end = bounds
    cuts = [start] + [i + 1 for i in range(start, end) if data[i:i + 1] == b"\n"]
    at = rng.choice(cuts)
    return data[:at] + line + b"\n" + data[at:]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        if b:
            b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def control_characters(data: bytes, rng: random.Random) -> bytes:
    out = data
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out) + 1)
        out = out[:at] + rng.choice([b"\x00", b"\x1b[2J", b"\xc2\x9b31m", b"\r", b"\x07", b"\x7f", b"\t"]) + out[at:]
    return out


def invalid_utf8(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\xff", b"\xed\xa0\x80", b"\xc3", b"\xf4\x90\x80\x80"]) + data[at:]


def bom_and_crlf(data: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        data = b"\xef\xbb\xbf" + data
    if rng.random() < 0.7:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


def odd_field(data: bytes, rng: random.Random) -> bytes:
    key = rng.choice(KEYS)
    value = rng.choice(ODD_VALUES + ODD_IDS if key != "base_model_relation" else RELATIONS + ODD_VALUES)
    return _insert_front_matter_line(data, f"{key}: {value}".encode(), rng)


def fixable(data: bytes, rng: random.Random) -> bytes:
    """A problem `lint --fix` corrects: a misspelled or miscased key, a license id's case, a relation's spelling."""
    edits = [(b"\nlicense:", b"\nlicence:"), (b"\nlicense:", b"\nLicense:"), (b"\nbase_model:", b"\nBase_Model:"),
             (b"\nbase_model:", b"\nbase-model:"), (b"license: mit", b"license: MIT"),
             (b"license: apache-2.0", b"license: Apache-2.0"), (b"\ndatasets:", b"\ndataset:")]
    present = [e for e in edits if e[0] in data]
    if present:
        old, new = rng.choice(present)
        return data.replace(old, new, 1)
    relation = rng.choice(["Finetune", "fine-tune", "quantised", "Merge", "Adapter"])
    return _insert_front_matter_line(data, f"base_model_relation: {relation}".encode(), rng)


def many_bases(data: bytes, rng: random.Random) -> bytes:
    n = rng.choice([2, 20, 300])
    ids = "".join(f"\n- org{i % 7}/model-{i}" for i in range(n))
    return _insert_front_matter_line(data, f"base_model:{ids}".encode(), rng)


def hostile_yaml(data: bytes, rng: random.Random) -> bytes:
    snippets = [
        "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b]\n"
        "d: [*c, *c, *c, *c, *c, *c, *c, *c]",
        "deep: " + "[" * 2000 + "]" * 2000,
        "deep_map: " + "{a: " * 500 + "1" + "}" * 500,
        "license: mit\nlicense: apache-2.0",
        "base_model: !!python/object/apply:os.system ['true']",
        "<<: {license: mit}",
        "base: &x {base_model: meta-llama/Llama-3.1-8B}\n<<: *x",
        "huge: " + "y" * 200_000,
        "? [complex, key]\n: value",
        "tags: !!set {a, b}",
        "license: |\n  mit\n  apache-2.0",
        'license: "mit\\napache-2.0"',
    ]
    return _insert_front_matter_line(data, rng.choice(snippets).encode(), rng)


def fences(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(4)
    if choice == 0:  # no closing fence
        bounds = _front_matter_bounds(data)
        return data if bounds is None else data[:bounds[1]] + data[bounds[1] + 4:]
    if choice == 1:  # a second front matter after the first
        return data + b"\n---\nlicense: gpl-3.0\n---\n"
    if choice == 2:  # indentation by tabs
        return data.replace(b"\n  ", b"\n\t", 3)
    return b"\n\n" + data  # blank lines before the opening fence


def lines_shuffled(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 3)):
        if len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines.insert(j, lines[i])
            else:
                del lines[i]
    return b"\n".join(lines)


def prose(data: bytes, rng: random.Random) -> bytes:
    sentences = [
        b"\nThis model was distilled from GPT-4o outputs and fine-tuned on Llama-3.1-8B.\n",
        b"\nWe trained on responses generated by Claude 3.5 Sonnet and " + b"DeepSeek-R1, " * 500 + b"\n",
        b"\n| Model | MMLU |\n|---|---|\n| this | 99.9 |\n" * 50,
        b"\n<script>alert(1)</script> [x](javascript:alert(1))\n",
        b"\n" + b"distilled from " * 3000 + b"\n",
    ]
    return data + rng.choice(sentences)


MUTATIONS: list[tuple[str, Mutation, int]] = [  # name, function, weight
    ("flip-bytes", flip_bytes, 2), ("truncate", truncate, 1), ("control-characters", control_characters, 1),
    ("invalid-utf8", invalid_utf8, 1), ("bom-crlf", bom_and_crlf, 2), ("odd-field", odd_field, 5),
    ("fixable", fixable, 4),
    ("many-bases", many_bases, 1), ("hostile-yaml", hostile_yaml, 2), ("fences", fences, 1),
    ("lines", lines_shuffled, 2), ("prose", prose, 1),
]


def mutant(cards: list[bytes], rng: random.Random) -> tuple[bytes, list[str]]:
    data = rng.choice(cards)
    names = []
    for _ in range(rng.randint(1, 3)):
        name, fn, _ = rng.choices(MUTATIONS, weights=[w for _, _, w in MUTATIONS])[0]
        data = fn(data, rng)
        names.append(name)
    return data, names


# --- running and judging -------------------------------------------------------------------------------------

def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, wall seconds, peak RSS in MiB) of one policycheck process; -999 for a process
    killed at BATCH_TIMEOUT. The peak is the process's own (tests/support/peak.py)."""
    from tests.support.peak import run_policycheck

    run = run_policycheck(args, env, timeout=BATCH_TIMEOUT, cwd=cwd)
    return (-999 if run.code is None else run.code), run.out, run.err, run.seconds, run.peak_mb


def _process_problems(code: int, err: str) -> list[str]:
    problems = []
    if code == -999:
        problems.append("timeout")
    elif code not in (0, 1, 2, 3):
        problems.append(f"exit {code}")
    if "Traceback" in err:
        problems.append("traceback")
    return problems


def _lines(text: str) -> list[str]:
    return text.split("\n")


def expected_after_fixes(raw: bytes, fixes: list[dict[str, object]]) -> bytes:
    """`raw` with `fixes` applied, independently of policycheck, round by round (a fix's `round`, 1 when absent:
    its line:col are in the text as that round found it): each fix's `old` must stand at its line:col (1-based,
    in the text without a byte-order mark); lines keep their own ends."""
    text = raw.decode("utf-8")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = text[len(bom):].split("\n")
    rounds = sorted({int(f.get("round", 1)) for f in fixes})  # type: ignore[call-overload]
    for n in rounds:
        this = [f for f in fixes if int(f.get("round", 1)) == n]  # type: ignore[call-overload]
        for f in sorted(this, key=lambda f: (int(f["line"]), int(f["col"])), reverse=True):  # type: ignore[call-overload]
            line, col, old, new = int(f["line"]), int(f["col"]), str(f["old"]), str(f["new"])  # type: ignore[call-overload]
            s = lines[line - 1]
            if s[col - 1:col - 1 + len(old)] != old:
                raise ValueError(f"fix {f} does not match the text at {line}:{col}")
            lines[line - 1] = s[:col - 1] + new + s[col - 1 + len(old):]
    return (bom + "\n".join(lines)).encode("utf-8")


def run_batch(folder: Path, names: list[str], env: dict[str, str], tally: collections.Counter[str],
              failures: list[str]) -> float:
    """Check and lint one batch; count outcomes in `tally`, describe failures in `failures`; the peak MiB."""
    paths = [str(folder / n) for n in names]
    code, out, err, wall, peak = _run(["check", "--offline", "--format", "json", *paths], env, folder)
    tally["check processes"] += 1
    tally["check seconds"] += round(wall)
    tally[f"check batch exit {code}"] += 1
    failures += [f"check: {p}" for p in _process_problems(code, err)]
    try:
        docs = json.loads(out)
        if not isinstance(docs, list) or len(docs) != len(paths):
            failures.append(f"check: {len(docs) if isinstance(docs, list) else 'no'} documents for {len(paths)}")
            docs = []
    except ValueError:
        failures.append("check: standard output is not JSON")
        docs = []
    for doc in docs:
        verdict = doc.get("verdict")
        tally[f"verdict {verdict}"] += 1
        message = str((doc.get("error") or {}).get("message", ""))
        if message.startswith("internal error"):
            failures.append(f"check: internal error for {Path(str(doc.get('target'))).name}: {message[:200]}")

    before = {p: Path(p).read_bytes() for p in paths}
    code, out, err, wall2, peak2 = _run(["lint", "--fix", "--format", "json", *paths], env, folder)
    tally["lint seconds"] += round(wall2)
    failures += [f"lint --fix: {p}" for p in _process_problems(code, err)]
    try:
        files = json.loads(out)["files"]
    except (ValueError, KeyError, TypeError):
        failures.append("lint --fix: standard output is not its JSON document")
        files = []
    for entry in files:
        path = entry["file"]
        applied = [f for f in entry.get("fixes", ()) if f.get("applied")]
        tally["fixes applied"] += len(applied)
        tally["files fixed"] += bool(applied)
        after = Path(path).read_bytes()
        if not applied:
            if after != before[path]:
                failures.append(f"lint --fix: {Path(path).name} changed with no fix applied")
            continue
        try:
            expected = expected_after_fixes(before[path], applied)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            failures.append(f"lint --fix: {Path(path).name}: {exc}")
            continue
        if after != expected:
            failures.append(f"lint --fix: {Path(path).name}: bytes changed outside the reported fixes")

    fixed_once = {p: Path(p).read_bytes() for p in paths}
    code, out, err, _, peak3 = _run(["lint", "--fix", "--format", "json", *paths], env, folder)
    failures += [f"lint --fix (again): {p}" for p in _process_problems(code, err)]
    try:
        again = json.loads(out)["files"]
    except (ValueError, KeyError, TypeError):
        again = []
        failures.append("lint --fix (again): standard output is not its JSON document")
    for entry in again:
        if any(f.get("applied") for f in entry.get("fixes", ())):
            failures.append(f"lint --fix: not idempotent on {Path(entry['file']).name}")
    for p in paths:
        if Path(p).read_bytes() != fixed_once[p]:
            failures.append(f"lint --fix: {Path(p).name} changed on the second run")
    return max(peak, peak2, peak3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20000, help="mutants (default 20000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--batch", type=int, default=500, help="mutants per process (default 500)")
    ap.add_argument("--corpus", type=Path, default=CORPUS, help="folder of cards to mutate")
    ap.add_argument("--keep", type=Path, help="keep the mutants of failing batches here")
    args = ap.parse_args()

    cards = [p.read_bytes() for p in sorted(args.corpus.glob("*.md"))]
    if not cards:
        print(f"fuzz_cards: no cards in {args.corpus}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    tally: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    all_failures: list[str] = []
    peak = 0.0
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-cards-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "HF_HOME": str(home / "hf"),
               "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "NO_COLOR": "1",
               "PYTHONPATH": str(ROOT)}
        env.pop("HF_TOKEN", None)
        done = 0
        while done < args.count:
            n = min(args.batch, args.count - done)
            folder = Path(tmp) / f"batch-{done // args.batch:04d}"
            folder.mkdir()
            names = []
            for i in range(n):
                data, applied = mutant(cards, rng)
                kinds.update(applied)
                name = f"fuzz{(done + i) % 97}__mutant-{done + i:05d}.md"
                (folder / name).write_bytes(data)
                names.append(name)
            failures: list[str] = []
            peak = max(peak, run_batch(folder, names, env, tally, failures))
            if failures and args.keep:
                dest = args.keep / folder.name
                shutil.copytree(folder, dest, dirs_exist_ok=True)
                (dest / "FAILURES.txt").write_text("\n".join(failures) + "\n", encoding="utf-8")
            all_failures += failures
            shutil.rmtree(folder)
            done += n
            print(f"  {done:6d}/{args.count} mutants, {len(all_failures)} failure(s), "
                  f"{time.monotonic() - start:6.0f} s", file=sys.stderr)
    wall = time.monotonic() - start
    print(f"fuzz_cards: {args.count} mutants of {len(cards)} corpus cards, seed {args.seed}, "
          f"{args.batch} per process; {wall:.0f} s; largest peak of one process {peak:.0f} MiB")
    print("mutations: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    by_kind = collections.Counter(": ".join(re.sub(r"fuzz\d+__mutant-\d+\.md", "<mutant>", f).split(": ")[:2])
                                  for f in all_failures)
    print(f"failures: {len(all_failures)}" + ("" if not all_failures else " — " + ", ".join(
        f"{k} {v}" for k, v in by_kind.most_common())))
    for f in all_failures[:20]:
        print("  " + f)
    return 1 if all_failures else 0


if __name__ == "__main__":
    sys.exit(main())
