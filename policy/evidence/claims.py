"""Evaluation claims: what a card says a model scores (model-index, Markdown tables, `.eval_results/*.yaml`),
and how far to believe it (DESIGN §7, kind `evidence`).

Pure module: callers pass the parsed card fields, the card body, parsed eval-results files and the text of
independent evaluation files. Card data is hostile: only the documented shapes are read, nothing unknown is
`str()`-ed, counts and string lengths are bounded, and tables are parsed with plain string operations.

A claim is "verified" only when the Hub's API says so; a card's own `verified: true` is not evidence (it is
"Automatically computed by Hugging Face, do not set", and a card that sets it without a `verifyToken` claims a
verification the Hub did not make).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

import yaml

from policy import refdata
from policy.errors import InputError
from policy.model.evidence import Evidence
from policy.records import record
from policy.refdata import DataProblem
from policy.scan.cards import normalise, read_front_matter, split_front_matter
from policy.yamlload import load_fast

MAX_CLAIMS = 500  # claims read from one card (model-index and tables together) or one set of eval-results
MAX_STRING = 200  # characters kept of any name, metric, id or url
MAX_VISITED = 20_000  # model-index / eval-results items looked at, whatever their shape
MAX_TABLE_ROWS = 200  # rows read per table (the rest of a longer table is skipped)
MAX_TABLE_COLUMNS = 30  # cells read per row
MAX_LINE = 2_000  # longer lines are never table rows
MAX_BODY = 1_000_000  # characters of the body read
MAX_INDEPENDENT_ROWS = 100_000
MAX_UNSOURCED = 20  # claim-unsourced items before one summary item
MAX_MESSAGE = 300
INCONSISTENT_TOLERANCE = 0.5  # points on the percent scale (or units of a raw metric)

ORIGINS = ("model-index", "card-table", "eval-results")
# metric types that are never a percentage even on a percent benchmark
_RAW_METRICS = frozenset({"perplexity", "ppl", "loss", "elo", "bitsperbyte", "bpb", "bitsperchar", "bpc",
                          "wordperplexity", "byteperplexity", "nll"})


# ------------------------------------------------------------------------------------------------ benchmarks

def normalize(text: str) -> str:
    """Lower case, `+` kept as `plus` (HumanEval+ is not HumanEval), everything but letters and digits dropped."""
    return "".join(ch for ch in text[:MAX_STRING].lower().replace("+", "plus") if ch.isalnum())


@record
class Benchmark:
    """A known benchmark: its names and the datasets that identify it."""
    id: str
    name: str
    aliases: tuple[str, ...]
    datasets: tuple[tuple[str, tuple[str, ...]], ...]  # (dataset id, configs; empty: any config)
    higher_is_better: bool
    scale: str  # percent | raw
    source: str
    subtasks: bool = False  # a suite: "agieval_sat_math", "BigBench Logical Deduction" name one of its parts

    @property
    def percent(self) -> bool:
        return self.scale == "percent"


@record
class Resolved:
    """What a name denotes: the benchmark, the part of it the score is on (a subtask, category, language or setting
    column, as written; None for the benchmark as a whole) and the metric written after the name."""
    benchmark: Benchmark
    subtask: str | None = None
    metric: str | None = None


MAX_RESOLVED = 4096  # names remembered by one benchmark table
_UNRESOLVED = object()


@record
class Benchmarks:
    """The known benchmarks, indexed by name and by dataset."""
    items: tuple[Benchmark, ...]
    _names: Mapping[str, Benchmark]
    _datasets: Mapping[str, tuple[tuple[frozenset[str], Benchmark], ...]]
    _words: tuple[str, ...] = ()  # every name and alias of three or more characters, lower-cased (`mentioned`)
    # names resolved so far (a card's tables repeat their labels; a batch repeats its cards'): bounded
    _resolved: dict[tuple[str, Any], Resolved | None] = field(default_factory=dict, compare=False, repr=False)

    def mentioned(self, text: str) -> bool:
        """Does `text` contain a benchmark's name or alias anywhere (case ignored)? A cheap test before a table
        is parsed: a table that names no benchmark holds no claim."""
        low = text.lower()
        return any(w in low for w in self._words)

    def get(self, benchmark_id: str) -> Benchmark | None:
        for b in self.items:
            if b.id == benchmark_id:
                return b
        return None

    def resolve(self, name_or_dataset_id: Any, config: Any = None) -> Benchmark | None:
        """The benchmark a name or Hub dataset id denotes, or None. A dataset id that holds several benchmarks
        (`ai2_arc`, `Idavidrein/gpqa`) needs its config; a name written with a setting in parentheses
        ("MMLU (5-shot)", "GSM8K (8-shot, CoT)") or a metric after it ("SimpleQA (Correct)") is read without it,
        and a suite's subtask ("agieval_sat_math") is its suite (`lookup` tells which part)."""
        found = self.lookup(name_or_dataset_id, config)
        return found.benchmark if found is not None else None

    def lookup(self, name_or_dataset_id: Any, config: Any = None) -> Resolved | None:
        """`resolve`, with the subtask and the metric the name is written with."""
        if not isinstance(name_or_dataset_id, str) or not name_or_dataset_id.strip():
            return None
        key = (name_or_dataset_id[:MAX_STRING], config if isinstance(config, str) else None)
        known = self._resolved.get(key, _UNRESOLVED)
        if known is not _UNRESOLVED:
            return known  # type: ignore[return-value]
        found = self._resolve(key[0], config)
        if len(self._resolved) >= MAX_RESOLVED:
            self._resolved.clear()
        self._resolved[key] = found
        return found

    def _named(self, text: str, config: Any) -> Benchmark | None:
        """The benchmark whose name, alias or dataset id `text` is, exactly (ignoring case and punctuation)."""
        key = normalize(text)
        if not key:
            return None
        cfg = normalize(config) if isinstance(config, str) else ""
        for configs, bench in self._datasets.get(key, ()):
            if not configs or cfg in configs:
                return bench
        return self._names.get(key)

    def _resolve(self, name_or_dataset_id: str, config: Any) -> Resolved | None:
        if _number(name_or_dataset_id) is not None:
            return None  # a value, not a name (most cells of a table)
        text = _strip_markup(name_or_dataset_id)
        if not normalize(text):
            return None
        found = self._named(text, config)
        if found is not None:
            return Resolved(found)
        # a note after the name: "DocVQA<sub>test</sub>", "Video-MME<br>w/o subs" (a split, a metric, a setting)
        text, note = _split_note(text)
        settled = _strip_settings(text)
        plain = _SHOTS_SUFFIX.sub("", settled)
        noted = [_metric_note(candidate) for candidate in dict.fromkeys((text, settled, plain))]
        for bare, metric in noted:
            found = self._named(bare, config)
            if found is not None and (metric is None or not _RAW_NOTE.fullmatch(metric) or not found.percent):
                return Resolved(found, None, metric or note)
        for bare, metric in reversed(noted):  # a subtask without the settings written after it
            part = self._subtask(bare)
            if part is not None:
                return Resolved(part[0], part[1], metric or note)
        return None

    def _subtask(self, text: str) -> tuple[Benchmark, str] | None:
        """(suite, subtask) for a suite's name followed by a subtask: "agieval_sat_math", "BigBench Logical
        Deduction", "truthfulqa_mc2" (words split at spaces and underscores; the longest name that starts the
        text and names a suite wins; a hyphen joins a new benchmark's name, "MMLU-Redux", so it splits none)."""
        words = [w for w in _WORD_SPLIT.split(text.strip()) if w]
        for k in range(min(len(words) - 1, MAX_SUITE_WORDS), 0, -1):
            bench = self._names.get(normalize(" ".join(words[:k])))
            if bench is not None and bench.subtasks:
                rest = text.strip()
                for w in words[:k]:  # the subtask as written: the text after the suite's words
                    rest = rest[rest.index(w) + len(w):]
                rest = rest.strip(" _")
                return (bench, rest[:MAX_STRING]) if rest and not is_aggregate(rest) else None
        return None


MAX_SUITE_WORDS = 4  # words of a suite's name before its subtask ("AGI Eval", "BIG Bench")
_WORD_SPLIT = re.compile(r"[\s_]+")
# A label that aggregates several scores: it is no benchmark, and no category of one ("Average", "Avg.", "Overall",
# "Core tasks average", "HallBench avg").
_AGGREGATE = re.compile(r"\b(?:average|avg|mean|overall|total)\b", re.I)


def is_aggregate(label: str) -> bool:
    """Is the label an aggregate of several scores ("Average", "Avg.", "Overall", "Full average")?"""
    return _AGGREGATE.search(label[:MAX_STRING]) is not None


# A note written after a name on a line of its own or as a subscript: the split, metric or setting of the score.
_NOTE = re.compile(r"\s*(?:<sub>([^<>]{1,40})</sub>|<br\s*/?>\s*(.{1,60}))\s*$", re.I)


def _split_note(text: str) -> tuple[str, str | None]:
    m = _NOTE.search(text)
    if m is None or m.start() == 0:
        return text, None
    note = (m.group(1) or m.group(2) or "").strip().strip("()").strip()
    return text[:m.start()].strip(), note or None


def _metric_note(text: str) -> tuple[str, str | None]:
    """(name, metric) of a name followed by its metric or setting: "SimpleQA (Correct)", "AIME 2024 cons@64",
    "ArenaHard (GPT-4-1106)" (the judge); (text, None) when none follows."""
    m = _METRIC_NOTE.search(text)
    if m is None or m.start() == 0:
        return text, None
    return text[:m.start()], m.group(0).strip().strip("()").strip() or None


# Shots written into a benchmark's name: "ARC-Challenge-25shots", "MMLU 5-shot", "HellaSwag_10shot".
_SHOTS_SUFFIX = re.compile(r"[-_ ]*\d{1,3}[-_ ]?shots?\s*$", re.I)
# The metric a result table writes after a benchmark's name: "MMLU-Pro (EM)", "GPQA Diamond pass@1", "DROP (F1)",
# "IF-Eval (Prompt Strict)", "SWE Verified (Resolved)", "AlpacaEval2.0 (LC-winrate)", "AIME 2024 cons@64", the judge
# of "ArenaHard (GPT-4-1106)", "Codeforces (Rating)", "BigBench Hard CoT". The benchmark is the name before it (the
# name is kept as written, the metric read apart).
_METRIC_NOTE = re.compile(
    r"\s*(?:\((?:em|exact match|acc\.?|accuracy|f1|pass@\d+(?:[- ]cot)?|prompt strict|inst(?:ruction)? strict|strict|"
    r"loose|correct|resolved|(?:lc[- .]*)?win[- ]?rate|wr|gpt-?4[\w.-]{0,20}|rating|elo|percentile)\)|"
    r"(?:pass|cons|maj|avg)@\d+|\bacc(?:_norm)?|\b(?:rating|elo|percentile)|\bcot)\s*$", re.I)
# Metrics of a raw-scale benchmark only: a percentage has no rating ("MMLU (Rating)" names nothing).
_RAW_NOTE = re.compile(r"rating|elo|percentile", re.I)


def load_benchmarks(data: Any = None) -> Benchmarks:
    """Build the benchmark table from parsed data (the shape of rules/evidence/benchmarks.yaml), from YAML text,
    or, with no argument, from the shipped file (through `policy.refdata`: validated against
    `rules/schema/benchmarks.json`, read once per process). Bad data is a `ValueError` (a `DataProblem` at the
    path of the value)."""
    if data is None:
        return refdata.load("benchmarks", build=load_benchmarks)  # type: ignore[no-any-return]
    if isinstance(data, str):
        try:
            data = load_fast(data)
        except yaml.YAMLError as exc:
            raise ValueError(f"benchmarks data is not valid YAML: {exc}") from None
    if not isinstance(data, Mapping) or data.get("schema_version") != 1 or not isinstance(
            data.get("benchmarks"), list):
        raise DataProblem("benchmarks data must be a mapping with schema_version: 1 and a list `benchmarks`")
    items: list[Benchmark] = []
    names: dict[str, Benchmark] = {}
    datasets: dict[str, list[tuple[frozenset[str], Benchmark]]] = {}
    for i, raw in enumerate(data["benchmarks"]):
        at = ("benchmarks", i)
        if not isinstance(raw, Mapping):
            raise DataProblem(f"benchmarks[{i}] is not a mapping", at)
        bid, name, source = raw.get("id"), raw.get("name"), raw.get("source")
        hib, scale = raw.get("higher_is_better"), raw.get("scale")
        if not (isinstance(bid, str) and isinstance(name, str) and isinstance(source, str)
                and source.startswith("https://") and isinstance(hib, bool) and scale in ("percent", "raw")):
            raise DataProblem(f"benchmarks[{i}]: needs id, name, source (https URL), higher_is_better, scale", at)
        aliases = tuple(a for a in raw.get("aliases") or () if isinstance(a, str))
        ds: list[tuple[str, tuple[str, ...]]] = []
        for j, d in enumerate(raw.get("datasets") or ()):
            if not isinstance(d, Mapping) or not isinstance(d.get("id"), str):
                raise DataProblem(f"benchmarks[{i}] ({bid}): a dataset needs an id", (*at, "datasets", j))
            ds.append((d["id"], tuple(c for c in d.get("configs") or () if isinstance(c, str))))
        subtasks = raw.get("subtasks", False)
        if not isinstance(subtasks, bool):
            raise DataProblem(f"benchmarks[{i}] ({bid}): subtasks must be true or false", (*at, "subtasks"))
        bench = Benchmark(bid, name, aliases, tuple(ds), hib, scale, source, subtasks)
        items.append(bench)
        spelled = [((*at, "id"), bid), ((*at, "name"), name),
                   *(((*at, "aliases", k), a) for k, a in enumerate(aliases))]
        for where, alias in spelled:
            key = normalize(alias)
            if key in names and names[key] is not bench:
                raise DataProblem(f"benchmarks: {alias!r} names both {names[key].id} and {bid}", where)
            names[key] = bench
        for did, configs in ds:
            datasets.setdefault(normalize(did), []).append((frozenset(normalize(c) for c in configs), bench))
    words = tuple(sorted({w.lower() for b in items for w in (b.name, *b.aliases) if len(w) >= 3}))
    return Benchmarks(tuple(items), names, {k: tuple(v) for k, v in datasets.items()}, words)


def _strip_markup(text: str) -> str:
    """`**GSM8K**`, `` `gsm8k` ``, `[GSM8K](https://...)` -> the text shown."""
    text = text.strip()
    if text.startswith("[") and "](" in text and text.endswith(")"):
        text = text[1:text.index("](")]
    return text.strip().strip("*_`~ ").strip()


def _strip_settings(text: str) -> str:
    """Drop parenthesised settings ("(5-shot)", "(25-Shot)", "(8-shot, CoT)", "[0-shot]"): a parenthesis whose
    content has a digit or names shots/CoT. Other parentheses ("(self repair)") are part of the name."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        close = {"(": ")", "[": "]"}.get(ch)
        if close is not None:
            j = text.find(close, i + 1)
            if j != -1:
                inner = text[i + 1:j].lower()
                if any(c.isdigit() for c in inner) or "shot" in inner or "cot" in inner:
                    i = j + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


# ------------------------------------------------------------------------------------------------ claims

@record
class Claim:
    """One evaluation result a card claims: benchmark, metric, value, where."""
    benchmark: str | None  # canonical benchmark id, None when the benchmark is unknown
    name: str  # the benchmark as written (dataset name, table cell, dataset id)
    metric: str | None  # metric type / name as written
    value: float  # the number as written
    percent: float | None  # the value on a 0-100 scale for a percentage-type score, else None
    higher_is_better: bool | None  # None when the benchmark is unknown
    dataset_id: str | None = None
    dataset_revision: str | None = None
    split: str | None = None
    source_url: str | None = None
    source_name: str | None = None
    verified_flag: bool = False  # the card's own `verified: true` (never trusted)
    has_verify_token: bool = False
    origin: str = "model-index"  # model-index | card-table | card-text | eval-results
    line: int = 0  # 1-based card line, 0 when unknown
    column: str | None = None  # card-table: the header of the column (or the row label) read as the model's
    file: str | None = None  # eval-results: the file name under .eval_results/
    source_user: str | None = None  # eval-results: source.user
    text: str = ""  # the card line the claim was read from, when known (for quotes)
    # the part of the benchmark the score is on, as written: a suite's subtask ("sat_math" of agieval_sat_math), a
    # category or language column of a table about one benchmark ("STEM" under "#### C-Eval"); None: the whole
    subtask: str | None = None

    @property
    def display_value(self) -> str:
        return _fmt_pct(self.percent) if self.percent is not None else _fmt(self.value)

    @property
    def where(self) -> str:
        if self.origin == "eval-results":
            return f"eval-results, {self.file}" if self.file else "eval-results"
        if self.line:
            return f"{self.origin}, card line {self.line}"
        return self.origin


def _s(value: Any) -> str | None:
    """A string field of hostile data: strings only (numbers as written), capped; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value[:MAX_STRING] if value else None
    if (isinstance(value, int) and abs(value) < 10**18) or (isinstance(value, float) and math.isfinite(value)):
        return repr(value)
    return None


def _number(value: Any) -> tuple[float, bool] | None:
    """(value, written with %) for a number or a numeric string such as `90.2`, `90.2%`, `**90.2**`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (float(value), False) if abs(value) < 10**15 else None
    if isinstance(value, float):
        return (value, False) if math.isfinite(value) else None
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value.strip().strip("*_`~ ").strip()
    pct = text.endswith("%")
    if pct:
        text = text[:-1].strip()
    if not text or len(text) > 20 or any(c not in "0123456789.-+" for c in text):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return (number, pct) if math.isfinite(number) else None


def _to_percent(value: float, bench: Any, metric: str | None, written_pct: bool = False) -> float | None:
    if written_pct:
        return value
    if bench is None or not bench.percent:
        return None
    if metric is not None and normalize(metric) in _RAW_METRICS:
        return None
    if value < 0:
        return None
    return value * 100.0 if value <= 1.0 else value if value <= 100.0 else None


def claims_from_card(fields: Mapping[str, Any], body: str, body_start_line: int, benchmarks: Benchmarks, *,
                     model_name: str | None = None, card_text: str | None = None) -> list[Claim]:
    """The evaluation claims of one card: its `model-index` (documented shape only) and the Markdown tables of
    its body that name known benchmarks. `body_start_line` is the card line of the body's first line. Give
    `card_text` (the whole card) to have model-index claims carry their card line. `model_name` picks the
    model's column of a comparison table; without it the first numeric column is read (see `Claim.column`)."""
    claims: list[Claim] = []
    index = fields.get("model-index") if isinstance(fields, Mapping) else None
    if isinstance(index, list):
        lines = _model_index_lines(card_text) if card_text is not None else {}
        claims.extend(_model_index_claims(index, benchmarks, lines))
    if isinstance(body, str) and len(claims) < MAX_CLAIMS:
        start = body_start_line if isinstance(body_start_line, int) and body_start_line > 0 else 1
        tables = _table_claims(body[:MAX_BODY], start, benchmarks, model_name, MAX_CLAIMS - len(claims))
        claims.extend(tables)
        claims.extend(_text_claims(body[:MAX_BODY], start, benchmarks, model_name, {c.line for c in tables},
                                   MAX_CLAIMS - len(claims)))
    return claims[:MAX_CLAIMS]


# ------------------------------------------------------------------------------------------------ lines of text

# The Trainer's model card (transformers' `TrainingArguments` / TRL), as the Hub writes it for every model trained
# with it: "It achieves the following results on the evaluation set:" then "- Loss: 0.4695", one metric a line.
_TRAINER_RESULTS = re.compile(r"(?:^|\s)(?:it|this model) achieves the following results on the evaluation set:?\s*$",
                              re.I)
_LIST_METRIC = re.compile(r"\s*[-*+]\s+([A-Za-z][\w /()@.-]{0,60}?)\s*:\s*(\S{1,24})\s*$")
# A result written on a line of its own: "**IFEval**: 72.64", "IFEval: 72.64"; or a benchmark's parts:
# "**MT_Bench**: Turn 1 - 8.3875, Turn 2 - 8.00625, Average - 8.196875".
_KEY_VALUE = re.compile(r"\s*(?:[*_]{2})?([A-Za-z][\w .+-]{0,40}?)(?:[*_]{2})?\s*:(?:[*_]{2})?\s*(.{1,160}?)\s*$")
_PART = re.compile(r"([A-Za-z][\w .]{0,30}?)\s+[-–:=]\s+([-+]?\d[\d.]{0,20}%?)")
# "Average: 72.59" right below a result table: the table's own average
_AVERAGE = re.compile(r"\s*(?:[*_]{2})?(average|avg\.?|mean)(?:[*_]{2})?\s*:\s*(\S{1,24})\s*$", re.I)
MAX_TABLE_GAP = 3  # lines between a table (or the fence closing it) and its "Average:" line
_HAS_DIGIT = re.compile(r"\d")


def _text_claims(body: str, start_line: int, benchmarks: Benchmarks, model_name: str | None,
                 table_lines: set[int], budget: int) -> list[Claim]:
    """Results the card writes as lines of text, in the three shapes cards share: the Trainer's list of
    evaluation-set metrics, a table's "Average: X" right below it (when the table's scores were read as the model's),
    and a benchmark on a line of its own ("**IFEval**: 72.64"). A line about another variant of the model, a code
    block and a sentence are not read: a number in a sentence may be anyone's."""
    lines = body.split("\n")
    claims: list[Claim] = []
    fenced = False
    trainer = False
    for i, line in enumerate(lines):
        if len(claims) >= budget:
            break
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            trainer = False
            continue
        if fenced or not stripped or stripped.startswith("|"):
            trainer = trainer and not stripped.startswith("|")
            continue
        if _TRAINER_RESULTS.search(stripped):
            trainer = True
            continue
        if not trainer and (":" not in stripped or not _HAS_DIGIT.search(stripped)):
            continue  # every shape read here is "name: number": most lines are passed over at once
        card_line = start_line + i
        if trainer:
            m = _LIST_METRIC.fullmatch(line)
            number = _number(m.group(2)) if m else None
            if m is None or number is None:
                trainer = False
            else:
                claims.append(_text_claim(None, f"evaluation set {m.group(1)}", number, m.group(1), card_line, line))
            continue
        m = _AVERAGE.fullmatch(line)
        if m is not None:
            number = _number(m.group(2))
            above = _table_above(lines, i, start_line)
            if number is not None and above is not None and table_lines & set(range(*above)) \
                    and not _other_variant(lines, i, model_name):
                name = _heading_above(lines, i) or "the table above"
                claims.append(_text_claim(None, f"{name} {m.group(1)}", number, m.group(1), card_line, line))
            continue
        m = _KEY_VALUE.fullmatch(line)
        if m is None or is_aggregate(m.group(1)):
            continue
        found = benchmarks.lookup(m.group(1))
        if found is None or _other_variant(lines, i, model_name):
            continue
        number = _number(m.group(2))
        if number is not None:
            claims.append(_text_claim(found, m.group(1), number, None, card_line, line))
            continue
        parts = _PART.findall(m.group(2))
        if parts and _PART.sub("", m.group(2)).strip(" ,;") == "":  # nothing but "label - number" parts
            for label, value in parts:
                number = _number(value)
                if number is not None:
                    claims.append(_text_claim(found, f"{m.group(1)} {label}", number, label, card_line, line))
    return claims[:budget]


def _table_above(lines: list[str], index: int, start_line: int) -> tuple[int, int] | None:
    """The card lines [first, last + 1) of the table that ends at most MAX_TABLE_GAP lines above `lines[index]`
    (a closing fence between them allowed), or None."""
    k, gap = index - 1, 0
    while k >= 0 and gap < MAX_TABLE_GAP and not lines[k].strip().startswith("|"):
        if lines[k].strip() and not lines[k].strip().startswith(("```", "~~~")):
            return None
        k, gap = k - 1, gap + 1
    if k < 0 or not lines[k].strip().startswith("|"):
        return None
    end = k
    while k >= 0 and (lines[k].strip().startswith("|") or not lines[k].strip()):
        k -= 1
    return start_line + k + 1, start_line + end + 1


def _heading_above(lines: list[str], index: int) -> str | None:
    """The text of the nearest Markdown heading above `lines[index]`, without marks ("AGIEval" of "## AGIEval:")."""
    for k in range(index - 1, max(-1, index - MAX_HEADING_GAP), -1):
        if _HEADING.match(lines[k].lstrip()):
            return _strip_markup(lines[k].lstrip().lstrip("#")).strip(" :*_")[:MAX_STRING] or None
    return None


def _text_claim(found: Resolved | None, name: str, number: tuple[float, bool], metric: str | None, line: int,
                text: str) -> Claim:
    if found is None:
        return Claim(benchmark=None, name=_strip_markup(name)[:MAX_STRING], metric=_s(metric), value=number[0],
                     percent=number[0] if number[1] else None, higher_is_better=None, origin="card-text",
                     line=line, text=text.strip()[:MAX_STRING])
    bench = found.benchmark
    return Claim(benchmark=bench.id, name=_strip_markup(name)[:MAX_STRING], metric=_s(metric) or _s(found.metric),
                 value=number[0], percent=_to_percent(number[0], bench, metric, number[1]),
                 higher_is_better=bench.higher_is_better, origin="card-text", line=line,
                 text=text.strip()[:MAX_STRING], subtask=found.subtask)


def _model_index_lines(card_text: str) -> dict[tuple[Any, ...], tuple[int, str]]:
    """(line, text) of each `model-index` metric value, from the card reader's positions of every key at any
    depth (policy.scan.cards, a second read of the front matter). Any problem (syntax, limits) just means no
    lines."""
    text = normalise(card_text[:MAX_BODY * 2])
    block = split_front_matter(text)
    if block is None:
        return {}
    try:
        _data, layout = read_front_matter(block, "card", nested=True)
    except (InputError, yaml.YAMLError, ValueError, TypeError, RecursionError):
        return {}
    card_lines = text.split("\n", block.close_line)
    out: dict[tuple[Any, ...], tuple[int, str]] = {}
    for path, (line, _col) in layout.key_marks.items():
        if len(path) == 7 and path[0] == "model-index" and path[-1] == "value":
            row = card_lines[line - 1].strip() if 0 < line <= len(card_lines) else ""
            out[path[1:6]] = (line, row[:MAX_STRING])
    return out


def _model_index_claims(index: list[Any], benchmarks: Benchmarks,
                        lines: Mapping[tuple[Any, ...], tuple[int, str]]) -> Iterable[Claim]:
    visited = 0
    count = 0
    for i, entry in enumerate(index):
        visited += 1
        if visited > MAX_VISITED or count >= MAX_CLAIMS:
            return
        results = entry.get("results") if isinstance(entry, dict) else None
        if not isinstance(results, list):
            continue
        for j, result in enumerate(results):
            visited += 1
            if visited > MAX_VISITED or count >= MAX_CLAIMS:
                return
            if not isinstance(result, dict):
                continue
            dataset = result.get("dataset")
            metrics = result.get("metrics")
            if not isinstance(dataset, dict) or not isinstance(metrics, list):
                continue
            ds_type, ds_name = _s(dataset.get("type")), _s(dataset.get("name"))
            config, split, revision = _s(dataset.get("config")), _s(dataset.get("split")), _s(
                dataset.get("revision"))
            source = result.get("source")
            src_url = _s(source.get("url")) if isinstance(source, dict) else None
            src_name = _s(source.get("name")) if isinstance(source, dict) else None
            found = benchmarks.lookup(ds_type, config) or benchmarks.lookup(ds_name, config)
            bench = found.benchmark if found else None
            for k, metric in enumerate(metrics):
                visited += 1
                if visited > MAX_VISITED or count >= MAX_CLAIMS:
                    return
                if not isinstance(metric, dict):
                    continue
                number = _number(metric.get("value"))
                if number is None:
                    continue
                mtype = _s(metric.get("type")) or _s(metric.get("name"))
                line, text = lines.get((i, "results", j, "metrics", k), (0, ""))
                count += 1
                yield Claim(
                    benchmark=bench.id if bench else None, name=ds_name or ds_type or "", metric=mtype,
                    value=number[0], percent=_to_percent(number[0], bench, mtype, number[1]),
                    higher_is_better=bench.higher_is_better if bench else None, dataset_id=ds_type,
                    dataset_revision=revision, split=split, source_url=src_url, source_name=src_name,
                    verified_flag=metric.get("verified") is True,
                    has_verify_token=bool(_s(metric.get("verifyToken"))), origin="model-index", line=line,
                    text=text, subtask=found.subtask if found else None)


# ------------------------------------------------------------------------------------------------ tables

def _cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row (leading/trailing pipe optional, `\\|` is a literal pipe), or None."""
    if "|" not in line or len(line) > MAX_LINE:
        return None
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    parts = text.replace("\\|", "\x00").split("|", MAX_TABLE_COLUMNS)[:MAX_TABLE_COLUMNS]
    return [_without_footnotes(p.replace("\x00", "|")).strip() for p in parts]


# A footnote mark in a cell: `<sup>1</sup>`, `<sup>†</sup>`, `[^2]` ("GSM8K<sup>1</sup>" is GSM8K, "54.1[^a]" is
# 54.1). Linear: no nested repetition.
_FOOTNOTE = re.compile(r"<sup>[^<>]{0,40}</sup>|\[\^[^\]\s]{1,20}\]", re.I)


def _without_footnotes(cell: str) -> str:
    return _FOOTNOTE.sub("", cell) if "<" in cell or "[^" in cell else cell


def _is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(c and c.strip(":- ") == "" and "-" in c for c in cells)


def _table_claims(body: str, start_line: int, benchmarks: Benchmarks, model_name: str | None,
                  budget: int) -> list[Claim]:
    """The claims of the body's pipe tables, those inside code fences included: evaluation harnesses
    (lm-evaluation-harness, leaderboards' exports) print their result tables as Markdown, and cards paste them
    in a fenced block as printed. A fence line itself is never a row."""
    lines = body.split("\n")
    claims: list[Claim] = []
    i = 0
    while i < len(lines) and len(claims) < budget:
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")) or i + 1 >= len(lines):
            i += 1
            continue
        header = _cells(line)
        # a table pasted double-spaced (a blank line after every row, as some cards copy a harness's output)
        gap = 2 if header and lines[i + 1].strip() == "" and i + 2 < len(lines) else 1
        sep = _cells(lines[i + gap]) if header else None
        if not header or not sep or not _is_separator(sep):
            i += 1
            continue
        rows: list[tuple[int, list[str], str]] = []  # (index in body, cells, text)
        j = i + 2 * gap
        while j < len(lines):
            cells = _cells(lines[j])
            if cells is None or lines[j].strip() == "":
                break
            if len(rows) < MAX_TABLE_ROWS:
                rows.append((j, cells, lines[j]))
            j += gap
            if gap == 2 and (j - 1 >= len(lines) or lines[j - 1].strip() != ""):
                break  # double-spaced rows only while every row is followed by one blank line
        if not _other_variant(lines, i, model_name):
            claims.extend(_read_table(header, rows, start_line, benchmarks, model_name, budget - len(claims),
                                      context=_context(lines, i, benchmarks)))
        i = j
    if "<table" in body or "<TABLE" in body:
        for header, rows, cell_lines in _html_tables(body, benchmarks.mentioned):
            if len(claims) >= budget:
                break
            if rows and _other_variant(lines, rows[0][0], model_name):
                continue
            claims.extend(_read_table(header, rows, start_line, benchmarks, model_name, budget - len(claims),
                                      cell_lines, context=_context(lines, rows[0][0] - 1, benchmarks)))
    return claims[:budget]


def _variant(text: str) -> str | None:
    """instruct (an instruction-tuned or chat model), base (a pretrained one), or None when the text says neither
    (or both)."""
    tuned = _TUNED_WORDS.search(text) is not None
    base = _BASE_WORDS.search(text) is not None
    return "instruct" if tuned and not base else "base" if base and not tuned else None


# Words of a heading that name a variant (whole words: "ChatGPT" or "database" name none).
_TUNED_WORDS = re.compile(r"\b(?:instruct\w*|chat|fine-?tuned|sft|dpo|rlhf)\b", re.I)
_BASE_WORDS = re.compile(r"\b(?:base|pre-?trained)\b", re.I)


def _other_variant(lines: list[str], index: int, model_name: str | None) -> bool:
    """Is the table at `lines[index]` under a heading naming the other variant of the model ("### Instruction
    tuned models" on the base model's card, whose table then labels the instruct model "Llama 3 8B" too)? The
    nearest Markdown heading above it decides, within MAX_HEADING_GAP lines."""
    if not model_name:
        return False
    fenced = False
    for k in range(index - 1, max(-1, index - MAX_HEADING_GAP), -1):
        line = lines[k]
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced  # going up: a heading between two fence lines is code, not a heading
            continue
        if not fenced and _HEADING.match(line):
            heading = _variant(line.lstrip("#"))
            words = " ".join(re.split(r"[-_./]", model_name.rsplit("/", 1)[-1]))
            mine = _variant(words) or ("instruct" if re.search(r"(?:^|\s)it(?:$|\s)", words.lower()) else "base")
            return heading is not None and heading != mine
    return False


_HEADING = re.compile(r"#{1,6}\s")


def _context(lines: list[str], index: int, benchmarks: Benchmarks) -> Benchmark | None:
    """The one benchmark the table whose first line is `lines[index]` is about, when its caption (the text line
    right above it: "RULER: a retrieval-based benchmark ...") or its heading ("#### C-Eval", "#### KMMLU (5-shot)")
    names it; a heading that only says how the table is cut ("##### Accuracy by category") defers to the headings
    that enclose it. Then the table's labels that name nothing else ("STEM", "Humanities", "German") are that
    benchmark's categories (`_read_table`)."""
    if index <= 0:
        return None
    above = lines[index - 1]
    if above.strip() and not _HEADING.match(above) and "|" not in above and not above.lstrip().startswith("<"):
        found = _names_benchmark(above, benchmarks)
        if found is not None:
            return found
    fenced = False
    level = 7  # the heading levels still open above the table
    for k in range(index - 1, max(-1, index - MAX_HEADING_GAP), -1):
        line = lines[k]
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or not _HEADING.match(line):
            continue
        depth = len(line) - len(line.lstrip("#"))
        if depth >= level:
            continue  # a sibling section's heading, not one that encloses the table
        level = depth
        found = _names_benchmark(line.lstrip("#"), benchmarks)
        if found is not None:
            return found
        if any(normalize(w) not in _GENERIC_WORDS for w in _strip_markup(line.lstrip("#")).split()):
            return None  # a heading about something else: the headings above it are not the table's
    return None


# Words of a heading or caption that say how a table is cut or what it is, not what it is about
_GENERIC_WORDS = frozenset({
    "", "accuracy", "by", "category", "categories", "supercategory", "subcategory", "subject", "subjects", "domain",
    "domains", "language", "languages", "results", "result", "evaluation", "evaluations", "leaderboard", "score",
    "scores", "performance", "benchmark", "benchmarks", "on", "of", "the", "in", "per", "detailed", "full",
    "breakdown", "table"})


def _names_benchmark(text: str, benchmarks: Benchmarks) -> Benchmark | None:
    """The benchmark a heading or caption names as a whole, its generic words aside ("[AlpacaEval Leaderboard
    Evaluation Results](...)", "CLIcK (Cultural and Linguistic Intelligence in Korean)", "RULER: a ..."), written
    as a name is (a capital after the first letter, or a digit: "## Math" names no MATH)."""
    text = _strip_markup(text.strip()[:MAX_STRING])
    for cand in dict.fromkeys((text, text.split(":", 1)[0], text.split("(", 1)[0])):
        name = " ".join(w for w in cand.split() if normalize(w) not in _GENERIC_WORDS)
        if not name or not any(c.isupper() or c.isdigit() for c in name[1:]):
            continue
        found = benchmarks.lookup(name)
        if found is not None and found.subtask is None:
            return found.benchmark
    return None


MAX_HEADING_GAP = 60  # lines between a table and the heading that can name whose results it holds
MAX_HTML_TABLE = 256 * 1024  # characters of one HTML table read
_TABLE_OPEN = re.compile(r"<table\b", re.I)
_TABLE_CLOSE = re.compile(r"</table\s*>", re.I)


def _table_spans(body: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each `<table ...>...</table>`, each ending at the first `</table>` after its start (as a
    lazy `<table.*?</table>` finds them), in one pass: a `<table` that nothing closes ends the search (no later
    one can be closed either), where a backtracking pattern tried every such start to the end of the text."""
    pos = 0
    while True:
        start = _TABLE_OPEN.search(body, pos)
        if start is None:
            return
        close = _TABLE_CLOSE.search(body, start.end())
        if close is None:
            return
        yield start.start(), close.end()
        pos = close.end()


_TR = re.compile(r"<tr\b[^>]*>", re.I)
_CELL = re.compile(r"<(?:td|th)\b([^>]*)>", re.I)
_CELL_END = re.compile(r"</t[dh]\s*>|</tr\s*>|<t[dh]\b|<tr\b|</table", re.I)
_SPAN_ATTR = re.compile(r"\b(rowspan|colspan)\s*=\s*[\"']?\s*(\d{1,6})", re.I)
_TAG = re.compile(r"<[^<>]*>")
_LEADING_MARKUP = re.compile(r"^(?:\s|<[^<>]*>)*")


def _html_rows(table: str) -> list[tuple[int, list[tuple[str, int, int, int]]]]:
    """(offset of the row in `table`, [(cell text, rowspan, colspan, offset of the cell's text)]) of each `<tr>`.
    A cell runs from its `<td>`/`<th>` to its end tag or the next cell or row (HTML lets them be left open); its
    text is the cell without tags, entities decoded, spaces collapsed. Every pattern is linear (no nested
    repetition)."""
    from html import unescape

    starts = [m.start() for m in _TR.finditer(table)][:MAX_TABLE_ROWS + 1]
    rows = []
    for k, at in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(table)
        cells: list[tuple[str, int, int, int]] = []
        for cell in _CELL.finditer(table, at, stop):
            end = _CELL_END.search(table, cell.end(), stop)
            inner = table[cell.end():end.start() if end else stop]
            spans = {name.lower(): int(n) for name, n in _SPAN_ATTR.findall(cell.group(1))}
            text = " ".join(unescape(_TAG.sub(" ", _without_footnotes(inner))).split())
            # the cell's text starts after the tags and spaces that open it (a value on the line below its <td>)
            lead = len(inner) - len(_LEADING_MARKUP.sub("", inner, count=1))
            cells.append((text, max(1, min(spans.get("rowspan", 1), MAX_TABLE_ROWS)),
                          max(1, min(spans.get("colspan", 1), MAX_TABLE_COLUMNS)), cell.end() + lead))
            if len(cells) >= MAX_TABLE_COLUMNS:
                break
        rows.append((at, cells))
    return rows


def _html_tables(body: str, mentioned: Callable[[str], bool] = lambda _text: True
                 ) -> Iterator[tuple[list[str], list[tuple[int, list[str], str]], dict[int, list[int]]]]:
    """The body's HTML tables as (header cells, [(line index in the body, cells, text)], {line index: the line
    index of each cell}), the first row the header. A cell's line is where its text is (a value often stands on
    the line below its `<td>`). `rowspan`/`colspan` are expanded, so a cell that spans rows (the "Category"
    column of the Llama 3 card) stands in each row it covers and no later cell shifts into its column. Text only:
    no tag or attribute is acted on; bounded in size, rows, columns and spans."""
    counted, newlines = 0, 0  # body offset up to which newlines are counted, and how many
    for start, end in _table_spans(body):
        if end - start > MAX_HTML_TABLE or not mentioned(body[start:end]):
            continue  # too large, or names no benchmark (a model's specifications, its energy use)
        newlines += body.count("\n", counted, start)
        counted = start
        base = newlines
        table = body[start:end]
        grid: list[tuple[int, list[str], list[int]]] = []
        pending: dict[int, tuple[str, int, int]] = {}  # column -> (text, rows still covered, line)
        for offset, cells in _html_rows(table):
            row: list[str] = []
            lines: list[int] = []
            queue = list(cells)
            col = 0
            while (queue or col in pending) and col < MAX_TABLE_COLUMNS:
                if col in pending:
                    text, left, line = pending.pop(col)
                    row.append(text)
                    lines.append(line)
                    if left > 1:
                        pending[col] = (text, left - 1, line)
                    col += 1
                    continue
                text, rowspan, colspan, at = queue.pop(0)
                line = base + table.count("\n", 0, at)
                for _ in range(colspan):
                    if col >= MAX_TABLE_COLUMNS:
                        break
                    row.append(text)
                    lines.append(line)
                    if rowspan > 1:
                        pending[col] = (text, rowspan - 1, line)
                    col += 1
            grid.append((base + table.count("\n", 0, offset), row, lines))
        if len(grid) < 2:
            continue
        body_rows = grid[1:MAX_TABLE_ROWS + 1]
        yield (grid[0][1], [(idx, cells, " | ".join(cells)) for idx, cells, _ in body_rows],
               {idx: lines for idx, _, lines in body_rows})


def _span(value: str | None, limit: int) -> int:
    try:
        return max(1, min(int(str(value).strip()), limit)) if value is not None else 1
    except ValueError:
        return 1


_PACKAGING = ("gguf", "gptq", "awq", "exl2", "mlx", "bnb4bit", "4bit", "8bit", "fp8", "int4", "int8")


# A row or column label by which a card names the model it describes: "This model", "Ours", "Our model",
# "Acme-7B (ours)". (A label naming another model never matches: "Llama-2-7B" is a comparison.)
_SELF_LABEL = re.compile(r"^(?:this model|ours|our model|this work|\(ours\))$", re.I)
# "OLMo 7B (ours)": a name, marked as the card's (linear: the emphasis run is taken once)
_OURS = re.compile(r"\s*(?:[*_]+\s*)?\((?:ours|this work)\)\s*$", re.I)


def _model_matches(header: str, model_name: str) -> bool:
    """The header names the model: its id, its name, or its name without a packaging suffix (a quantization's
    card copies its base's tables: "DeepSeek-R1-GGUF" is the "DeepSeek R1" column)."""
    header = header[:MAX_STRING]  # a label longer than any name names none (and bounds the work on it)
    shown = _strip_markup(_OURS.sub("", header)) or _strip_markup(header)
    full = normalize(model_name)
    short = normalize(model_name.rsplit("/", 1)[-1])
    bare = short
    for suffix in _PACKAGING:
        if bare.endswith(suffix) and len(bare) > len(suffix):
            bare = bare[: -len(suffix)]
            break
    linked = _HUB_LINK.search(header)
    if linked is not None:  # "[Llama-3-8B-SPPO Iter3](https://huggingface.co/UCLA-AGI/Llama-3-Instruct-8B-SPPO-Iter3)"
        target = linked.group(1)
        if normalize(target) == full if "/" in model_name else normalize(target.rsplit("/", 1)[-1]) == short:
            return True
    names = {_abbreviated(n) for n in (full, short, bare)}
    # Meta's own tables write "Llama 3 8B" for Meta-Llama-3-8B (the repos' names carry the vendor's)
    names |= {n[len("meta"):] for n in names if n.startswith("metallama")}
    # "[acme/ours-7b](https://huggingface.co/acme/ours-7b)": the id's name part names the model too
    return any(h and _abbreviated(h) in names for h in {normalize(shown), normalize(shown.rsplit("/", 1)[-1])})


_HUB_LINK = re.compile(r"\]\(https?://(?:www\.)?(?:huggingface\.co|hf\.co)/([\w.-]{1,96}/[\w.-]{1,96})/?\)")


def _abbreviated(name: str) -> str:
    """A normalised name with "instruct" as comparison tables shorten it ("Phi-3.5 Mini-Ins", "Llama-3.1-8B-Inst")."""
    return _INSTRUCT.sub("ins", name)


_INSTRUCT = re.compile(r"instruct|inst$")


def _label(text: str) -> str:
    """A row or column label as shown: "[OLMo 7B](...) **(ours)**" -> "OLMo 7B (ours)"."""
    return " ".join(_strip_markup(text.replace("**", "").replace("__", "")).split())


def _the_model(labels: Sequence[tuple[int, str]], model_name: str | None) -> int | None:
    """Which of the (index, label) rows or columns is the model's: the one its name labels (a name marked
    "(ours)" included), else the only one labelled "This model" or "Ours" alone. "OLMo 1B (ours)" on the card of
    OLMo 7B is the card's other model, and two bare "Ours" are none: a value is never read from a row or column
    that may be another model's."""
    if model_name:
        named = [i for i, label in labels if _model_matches(label, model_name)]
        if named:
            return named[0]
    ours = [i for i, label in labels if _SELF_LABEL.search(_strip_markup(label))]
    return ours[0] if len(ours) == 1 else None


def _setting_column(header: str) -> bool:
    """A column of evaluation settings, not scores: "# Shots", "n-shot", "Metric", "k"."""
    h = normalize(header)
    if any(word in h for word in ("shot", "metric", "version", "stderr")):
        return True
    return h in ("k", "n", "setting", "settings") or header.strip().startswith(("#", "\\#"))


def _harness_table(header: list[str]) -> bool:
    """lm-evaluation-harness's result table (`Task | Version | Metric | Value | | Stderr`, as it prints it): the
    scores of the model the card describes, whatever the tasks are called."""
    h = [normalize(c) for c in header]
    return "task" in h and "value" in h and h.index("task") < h.index("value") and \
        any(word in h for word in ("metric", "version", "stderr"))


# The corner cell of a results table: over rows of benchmarks, or over rows of models (words it contains).
_ROWS_OF_BENCHMARKS = ("benchmark", "task", "dataset", "eval", "metric", "category", "test", "capabilit", "domain",
                       "subject", "language", "skill")
_ROWS_OF_MODELS = ("model", "name", "method", "system", "checkpoint")


def _read_table(header: list[str], rows: list[tuple[int, list[str], str]], start_line: int,
                benchmarks: Benchmarks, model_name: str | None, budget: int,
                cell_lines: Mapping[int, list[int]] | None = None, context: Benchmark | None = None) -> list[Claim]:
    """The model's claims in one table. `cell_lines`: the line of each cell by row (an HTML table's cells
    stand on lines of their own); else a claim's line is its row's. `context`: the benchmark the table's caption or
    heading names (`_context`): a label that names nothing is its category, unless the table names another
    benchmark or the label is an aggregate ("Average")."""

    def line_of(idx: int, col: int) -> int:
        lines = (cell_lines or {}).get(idx)
        return start_line + (lines[col] if lines is not None and col < len(lines) else idx)

    # the column naming the benchmarks of the rows: among the first three, the one that names the most (a
    # leading "Category" column such as "Math" / "Code" must not be read as the benchmark MATH)
    key_col, row_known = 0, []
    for c in range(min(3, len(header))):
        found = [(r, b) for r in rows if c < len(r[1]) for b in (benchmarks.resolve(r[1][c]),) if b is not None]
        if len(found) > len(row_known):
            key_col, row_known = c, found
    # the benchmarks across the header (column 0 labels the rows, unless it is the only column)
    col_bench = [(c, benchmarks.resolve(h)) for c, h in enumerate(header) if c > 0 or len(header) == 1]
    col_known = [(c, b) for c, b in col_bench if b is not None]
    if context is not None and any(b is not context for _, b in (*row_known, *col_known)):
        context = None  # a table of several benchmarks: its other labels are not the heading's categories

    def part(label: str, labels: Sequence[str] = ()) -> Resolved | None:
        """The label as a benchmark, or as a category of the table's benchmark (`labels`: the row's label cells)."""
        found = benchmarks.lookup(label)
        if found is not None or context is None or is_aggregate(label) or not normalize(label):
            return found
        return Resolved(context, " / ".join(_label(x) for x in labels or (label,) if x.strip())[:MAX_STRING])

    claims: list[Claim] = []
    by_name = None
    if not row_known and not col_known and model_name:
        # no benchmark the registry knows: a table is the model's results only when a column or a row is labelled
        # with its name ("Phi-3.5 Mini-Ins" beside other models' columns), never by a guess
        # (and headed as results are: "Benchmark" / "Task" over the rows, "Model" over the models; a table of the
        # model's architecture, hyperparameters or energy use has its name too)
        corner = normalize(header[0]) if header else ""
        if _harness_table(header):
            by_name = "harness"
        elif any(word in corner for word in _ROWS_OF_BENCHMARKS) and \
                _the_model([(c, h) for c, h in enumerate(header) if c > 0], model_name) is not None:
            by_name = "column"
        elif any(word in corner for word in _ROWS_OF_MODELS) and \
                _the_model([(k, r[1][0]) for k, r in enumerate(rows) if r[1]], model_name) is not None:
            by_name = "row"
        else:
            return []
    if by_name in ("column", "harness") or (row_known and len(row_known) >= len(col_known)):
        # benchmarks down a column; the model is a column to its right
        column = _the_model([(c, h) for c, h in enumerate(header) if c > key_col], model_name)
        how = "model column"
        if by_name == "harness":  # an evaluation harness's printout pasted in the card: its Value column
            norm_header = [normalize(h) for h in header]
            key_col, column, how = norm_header.index("task"), norm_header.index("value"), "the harness's Value column"
        if column is None and by_name is None:
            how = "first numeric column"
            numeric = [c for c in range(key_col + 1, len(header)) if not _setting_column(header[c])
                       and any(c < len(cells) and _number(cells[c]) is not None for (_, cells, _), _b in row_known)]
            # a comparison table (several models' columns) where none is the model's: whose scores they are
            # cannot be told, so none is read as the model's claim
            column = numeric[0] if len(numeric) == 1 or (numeric and not model_name) else None
        if column is None:
            return []
        shown = _label(header[column])
        label = f"{shown[:MAX_STRING]} ({how})" if shown else f"column {column + 1} ({how})"
        # every score in the model's column: the rows naming a known benchmark, and the others of the table (a
        # benchmark the registry does not know is still the model's claim, unresolved); a row with an empty
        # label continues the one above (lm-evaluation-harness prints a task's second metric so)
        name = ""
        has_metric = any(normalize(h) == "metric" for h in header)
        for idx, cells, text in rows:
            label_cell = cells[key_col] if key_col < len(cells) else ""
            # a row whose label is empty continues the row above where a harness prints a task's second metric
            if not label_cell and by_name != "harness" and not has_metric:
                # an empty label in a table with a leading group column ("Category | Benchmark"): the row's
                # label is in that column ("**Average** | | 61.4")
                label_cell = next((c for c in cells[:key_col] if c.strip()), "")
                name = ""
            name = label_cell or name
            number = _number(cells[column]) if column < len(cells) else None
            if number is None or not name or _not_a_score(name):
                continue
            labels = [cells[c] for c in range(key_col, min(column, len(cells)))
                      if c == key_col or any(word in normalize(header[c]) for word in _ROWS_OF_BENCHMARKS)]
            found = part(name, labels if label_cell else ())
            claims.append(_table_claim(found, name, number, header[key_col] if found else None, line_of(idx, column),
                                       label, text, metric_cell=_metric_cell(header, cells, key_col, column)))
            if len(claims) >= budget:
                break
        return claims
    if not col_known and by_name is None:
        return []
    # benchmarks across the header; the model is a row
    at = _the_model([(k, r[1][0]) for k, r in enumerate(rows) if r[1]], model_name) if len(header) > 1 else None
    chosen = rows[at] if at is not None else None
    how = "model row"
    if chosen is None:
        how = "first numeric row"
        numeric_rows = [r for r in rows if any(c < len(r[1]) and _number(r[1][c]) is not None
                                               for c, _ in col_known)]
        chosen = numeric_rows[0] if len(numeric_rows) == 1 or (numeric_rows and not model_name) else None
    if chosen is None:
        return []
    idx, cells, text = chosen
    shown = _label(cells[0]) if cells and len(header) > 1 else ""
    label = f"{shown[:MAX_STRING]} ({how})" if shown else f"row {rows.index(chosen) + 1} ({how})"
    # every score in the model's row: the columns naming a known benchmark, and the others (unresolved)
    for c in range(0 if len(header) == 1 else 1, len(header)):
        number = _number(cells[c]) if c < len(cells) else None
        if number is None or not header[c].strip() or _setting_column(header[c]) or _not_a_score(header[c]):
            continue
        claims.append(_table_claim(part(header[c]), header[c], number, None, line_of(idx, c), label, text))
        if len(claims) >= budget:
            break
    return claims


def _table_claim(found: Resolved | None, name: str, number: tuple[float, bool], metric: str | None, line: int,
                 column: str, text: str, metric_cell: str | None = None) -> Claim:
    """A table cell as a claim; `found` None for a benchmark the registry does not know (unresolved)."""
    if found is None:
        return Claim(benchmark=None, name=_strip_markup(name)[:MAX_STRING], metric=_s(metric_cell) or None,
                     value=number[0], percent=None, higher_is_better=None, origin="card-table", line=line,
                     column=column, text=text.strip()[:MAX_STRING])
    bench = found.benchmark
    metric = _s(metric) if metric and bench.scale == "raw" else None
    metric = metric or _s(metric_cell) or _s(found.metric)
    return Claim(benchmark=bench.id, name=_strip_markup(name)[:MAX_STRING], metric=metric or None,
                 value=number[0], percent=_to_percent(number[0], bench, metric, number[1]),
                 higher_is_better=bench.higher_is_better, origin="card-table", line=line, column=column,
                 text=text.strip()[:MAX_STRING], subtask=found.subtask)


# A row or column that is not a score of the model: its size, context, speed, cost, date or rank.
_NOT_A_SCORE = re.compile(r"param|\bsize\b|#\s*tokens|\btokens?\b|context|length|latency|speed|throughput|memory|"
                          r"vram|\bdate\b|release|licen[cs]e|\brank|\belo\b|\bcost|price|flops|stderr|\btime\b|"
                          r"\bsteps?\b|\bepochs?\b|tokens/s|tok/s|\bms\b|layers|heads|d_model|hidden|vocab|"
                          r"learning rate|\blr\b|batch|warmup|weight decay|\bbeta|carbon|emission|co2|co₂|power|"
                          r"energy|gpu|hours|kwh", re.I)


def _not_a_score(label: str) -> bool:
    return bool(_NOT_A_SCORE.search(_strip_markup(label)))


def _metric_cell(header: list[str], cells: list[str], key_col: int, column: int) -> str | None:
    """The row's metric, from a column headed "Metric" between the label and the value (lm-evaluation-harness:
    `acc`, `acc_norm`)."""
    for c in range(key_col + 1, column):
        if normalize(header[c]) == "metric" and c < len(cells) and cells[c].strip():
            return cells[c].strip()
    return None


# ------------------------------------------------------------------------------------------------ eval results

def claims_from_eval_results(docs: Mapping[str, Any], benchmarks: Benchmarks) -> list[Claim]:
    """Claims of `.eval_results/*.yaml` files (file name -> parsed YAML, a list of
    `{dataset:{id,task_id,revision?}, value, verifyToken?, date?, source?:{url,name?,user?}, notes?}`)."""
    claims: list[Claim] = []
    visited = 0
    if not isinstance(docs, Mapping):
        return claims
    for filename, doc in docs.items():
        if not isinstance(filename, str) or not isinstance(doc, list):
            continue
        for item in doc:
            visited += 1
            if visited > MAX_VISITED or len(claims) >= MAX_CLAIMS:
                return claims
            if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
                continue
            number = _number(item.get("value"))
            if number is None:
                continue
            ds = item["dataset"]
            did, task = _s(ds.get("id")), _s(ds.get("task_id"))
            found = benchmarks.lookup(did, task) or benchmarks.lookup(task)
            bench = found.benchmark if found else None
            source = item.get("source")
            src = source if isinstance(source, dict) else {}
            claims.append(Claim(
                benchmark=bench.id if bench else None, name=did or task or "", metric=task, value=number[0],
                percent=_to_percent(number[0], bench, None, number[1]),
                higher_is_better=bench.higher_is_better if bench else None, dataset_id=did,
                dataset_revision=_s(ds.get("revision")), split=None, source_url=_s(src.get("url")),
                source_name=_s(src.get("name")), verified_flag=item.get("verified") is True,
                has_verify_token=bool(_s(item.get("verifyToken"))), origin="eval-results",
                file=filename[:MAX_STRING], source_user=_s(src.get("user")), subtask=found.subtask if found else None))
    return claims


# ------------------------------------------------------------------------------------------------ independent

@record
class Independent:
    """An evaluation value from an independent source, to judge claims by."""
    model: str
    revision: str | None
    benchmark: str  # canonical benchmark id
    value: float
    percent: float | None
    source: str
    row: int  # 1-based data row (CSV: not counting the header; JSON: list position)
    file: str = ""

    @property
    def where(self) -> str:
        return f"{self.source}, {self.file} row {self.row}" if self.source else f"{self.file} row {self.row}"


INDEPENDENT_FIELDS = ("model", "revision", "benchmark", "value", "scale", "source")
SCALES = ("percent", "fraction", "raw")  # raw: the metric's own unit (perplexity), no percent value


def parse_independent(text: str, filename: str, benchmarks: Benchmarks) -> list[Independent]:
    """Independent evaluation results: CSV (header `model,revision,benchmark,value,scale,source`) or JSON (a list
    of objects with those keys), by the file name's suffix. `scale` is `percent` (0-100), `fraction` (0-1) or
    `raw` (a non-percent metric such as perplexity). Any invalid row is an `InputError` naming `filename:row`."""
    suffix = Path(filename).suffix.lower()
    text = text.removeprefix("\ufeff")  # a byte-order mark, as Excel's "CSV UTF-8" writes: not part of the data
    rows: list[tuple[int, Any]] = []
    if suffix == ".json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{filename}: not valid JSON ({str(exc)[:120]})") from None
        if not isinstance(data, list):
            raise InputError(f"{filename}: expected a JSON list of objects")
        if len(data) > MAX_INDEPENDENT_ROWS:
            raise InputError(f"{filename}: more than {MAX_INDEPENDENT_ROWS} rows")
        rows = [(n, _without_surrogates(item)) for n, item in enumerate(data, 1)]
    elif suffix == ".csv":
        import csv  # only --evals CSV files need it

        reader = csv.DictReader(io.StringIO(text))
        missing = [f for f in INDEPENDENT_FIELDS if f not in (reader.fieldnames or ())]
        if missing:
            raise InputError(f"{filename}:1: the CSV header lacks {', '.join(missing)} "
                             f"(expected {','.join(INDEPENDENT_FIELDS)})")
        try:
            for n, item in enumerate(reader, 1):
                if n > MAX_INDEPENDENT_ROWS:
                    raise InputError(f"{filename}: more than {MAX_INDEPENDENT_ROWS} rows")
                rows.append((n, item))
        except csv.Error as exc:
            raise InputError(f"{filename}:{len(rows) + 1}: unreadable CSV ({exc})") from None
    else:
        raise InputError(f"{filename}: independent evaluations must be a .csv or .json file")
    return [_independent_row(n, item, filename, benchmarks) for n, item in rows]


# A UTF-16 surrogate that JSON's `\udXXX` escapes left alone (a pair became one character when it was parsed): no
# UTF-8 writer can encode it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(item: Any) -> Any:
    """A row's keys and text values with each lone surrogate replaced by U+FFFD (a row's values are flat: anything
    nested is refused by the row's checks, and never written)."""
    if not isinstance(item, dict):
        return item
    return {_LONE_SURROGATE.sub("\ufffd", k): _LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v
            for k, v in item.items()}


def _independent_row(n: int, item: Any, filename: str, benchmarks: Benchmarks) -> Independent:
    where = f"{filename}:{n}"
    if not isinstance(item, Mapping):
        raise InputError(f"{where}: a row must be an object with {', '.join(INDEPENDENT_FIELDS)}")
    model = item.get("model")
    if not isinstance(model, str) or not model.strip() or len(model) > MAX_STRING:
        raise InputError(f"{where}: `model` must be a model id")
    revision = item.get("revision")
    if revision is not None and not isinstance(revision, str):
        raise InputError(f"{where}: `revision` must be text")
    bench = benchmarks.resolve(item.get("benchmark"))
    if bench is None:
        shown = item.get("benchmark") if isinstance(item.get("benchmark"), str) else ""
        raise InputError(f"{where}: unknown benchmark {shown[:60]!r}")
    number = _number(item.get("value"))
    if number is None:
        raise InputError(f"{where}: `value` must be a number")
    scale = item.get("scale")
    scale = scale.strip().lower() if isinstance(scale, str) else scale
    if scale not in SCALES:
        raise InputError(f"{where}: `scale` must be one of {', '.join(SCALES)}")
    value = number[0]
    if scale == "raw" or not bench.percent:
        if scale != "raw" and not bench.percent:
            raise InputError(f"{where}: {bench.name} is not a percentage; use scale raw")
        percent = None
    elif scale == "fraction":
        if not 0.0 <= value <= 1.0:
            raise InputError(f"{where}: a fraction must be between 0 and 1, found {_fmt(value)}")
        percent = value * 100.0
    else:
        if not 0.0 <= value <= 100.0:
            raise InputError(f"{where}: a percentage must be between 0 and 100, found {_fmt(value)}")
        percent = value
    source = item.get("source")
    if source is not None and not isinstance(source, str):
        raise InputError(f"{where}: `source` must be text")
    return Independent(model.strip(), (revision or "").strip() or None, bench.id, value, percent,
                       (source or "").strip()[:MAX_STRING], n, filename)


# ------------------------------------------------------------------------------------------------ judging

def classify(claim: Claim, hub_verified: bool | None, *, matched: bool = False, contradicted: bool = False) -> str:
    """verified (the Hub API says so; never the card's own flag) | leaderboard / community (an eval-results
    source that says so: a leaderboard name or URL, or a `source.user` submission) | independent (`matched`:
    an independent value agrees within the tolerance) | contradicted (independent values exist for it and none
    agrees: `agreement`) | self-reported."""
    if hub_verified is True:
        return "verified"
    if claim.origin == "eval-results":
        text = f"{claim.source_name or ''} {claim.source_url or ''}".lower()
        if "leaderboard" in text:
            return "leaderboard"
        if claim.source_user:
            return "community"
    if matched:
        return "independent"
    if contradicted:
        return "contradicted"
    return "self-reported"


def agreement(claim: Claim, independent: Sequence[Independent], subject: str, revision: str | None,
              tolerance: float = 5.0) -> tuple[str | None, Independent | None]:
    """("independent", the row) when an independent value for the same model, benchmark and revision agrees
    with the claim within `tolerance` (points on the percent scale, else percent of the value); ("contradicted",
    the nearest row) when such values exist and none agrees, better or worse; (None, None) when there is none
    or none is comparable."""
    rows = [r for r in independent if claim.benchmark and r.benchmark == claim.benchmark and claim.subtask is None
            and _same_model(r.model, subject) and not (r.revision and revision and r.revision != revision)]
    gaps = [(abs(g), r) for r in rows if (g := _better_by(claim, r)) is not None]
    if not gaps:
        return None, None
    gap, row = min(gaps, key=lambda p: p[0])
    return ("independent" if gap <= tolerance else "contradicted"), row


def claim_evidence(subject: str, revision: str | None, claims: Sequence[Claim],
                   independent: Sequence[Independent], *, hub_verified: Mapping[int, bool] | None = None,
                   tolerance: float = 5.0, require_independent: bool = False,
                   benchmarks: Benchmarks | None = None) -> list[Evidence]:
    """Evidence about a model's evaluation claims. `hub_verified` maps a claim's index in `claims` to what the
    Hub API says of it. `tolerance`: points on the percent scale (percent of the value for other metrics)."""
    hub = hub_verified or {}
    names = {b.id: b.name for b in benchmarks.items} if benchmarks else {}
    out: list[Evidence] = []

    def bname(c: Claim) -> str:
        return names.get(c.benchmark or "", c.name or c.benchmark or "?")

    def add(code: str, message: str, method: str, confidence: str, source: str, claim: Claim | None,
            data: Mapping[str, Any]) -> None:
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE - 1] + "…"
        out.append(Evidence(code, message, method, confidence, source, subject, claim.line if claim else 0,
                            _quote(claim.text) if claim else "", None, dict(data)))

    # 1. verified: true without a verifyToken
    for n, c in enumerate(claims):
        if c.verified_flag and not c.has_verify_token and hub.get(n) is not True:
            add("claim-verified-without-token",
                f"{subject} marks its {bname(c)} result ({c.display_value}, {c.where}) as verified, but it has "
                "no verifyToken: Hugging Face did not verify it.",
                c.origin, "high", _source(c), c,
                {"benchmark": c.benchmark, "name": c.name, "value": c.value, "metric": c.metric})
        elif c.verified_flag and c.has_verify_token and hub.get(n) is False:
            add("claim-verified-without-token",
                f"{subject} marks its {bname(c)} result ({c.display_value}, {c.where}) as verified with a "
                "verifyToken, but the Hub's API does not count it as verified: the token is not one it issued.",
                c.origin, "high", f"{_source(c)}; Hub API model-index", c,
                {"benchmark": c.benchmark, "name": c.name, "value": c.value, "metric": c.metric})

    # 2. unsourced: merged per benchmark
    groups: dict[str, tuple[Claim, set[str], int]] = {}  # per benchmark, origin and what is missing
    for c in claims:
        missing = set()
        if not c.source_url:
            missing.add("source")
        if not c.dataset_revision:
            missing.add("dataset revision")
        if not c.split and c.origin != "eval-results":  # the eval-results format has no split
            missing.add("split")
        if missing:
            key = f"{c.benchmark or normalize(c.name) or '?'}:{c.origin}:{','.join(sorted(missing))}"
            first, seen, count = groups.get(key, (c, missing, 0))
            groups[key] = (first, seen, count + 1)
    order = ("source", "dataset revision", "split")
    for k, (c, missing, count) in enumerate(groups.values()):
        if k == MAX_UNSOURCED:
            rest = list(groups)[MAX_UNSOURCED:]
            origin = list(groups.values())[MAX_UNSOURCED][0].origin
            add("claim-unsourced", f"{subject} has {len(rest)} more {'group' if len(rest) == 1 else 'groups'} of "
                "claims that lack a source, dataset revision or split.", origin, "medium", "card", None,
                {"benchmarks": rest})
            break
        what = [m for m in order if m in missing]
        add("claim-unsourced",
            (f"{subject}'s {bname(c)} claim ({c.display_value}, {c.where}) has no {_join(what)}."
             if count == 1 else f"{subject} has {count} {bname(c)} claims ({c.origin}, first: {c.display_value}, "
             f"{c.where}) with no {_join(what)}."),
            c.origin, "medium", _source(c), c,
            {"benchmark": c.benchmark, "name": c.name, "origin": c.origin, "missing": what, "claims": count,
             "value": c.value})

    # 3. inconsistent: YAML (model-index, eval-results) against the body's tables (a subtask's score against the
    # same subtask's only: a card's "STEM" column of MMLU is not its MMLU score)
    tables = [c for c in claims if c.origin == "card-table" and c.benchmark]
    for c in claims:
        if c.origin == "card-table" or not c.benchmark:
            continue
        same = [t for t in tables if t.benchmark == c.benchmark and normalize(t.subtask or "") == normalize(
            c.subtask or "")]
        if not same:
            continue
        gaps = [(_gap(c, t), t) for t in same]
        if any(g <= INCONSISTENT_TOLERANCE for g, _ in gaps):
            continue
        gap, t = min(gaps, key=lambda p: p[0])
        add("claim-inconsistent",
            f"{subject} gives {bname(c)} as {c.display_value} ({c.where}) but as {t.display_value} "
            f"({t.where}): {_fmt(gap)} {'points' if _both_pct(c, t) else 'apart'}.",
            c.origin, "high", _source(c), c,
            {"benchmark": c.benchmark, "value": c.value, "percent": c.percent, "line": c.line,
             "other_value": t.value, "other_percent": t.percent, "other_line": t.line, "difference": gap})

    # 4. exceeds independent / 5. unmatched (an independent value is a whole benchmark's: a subtask's score is
    # never judged by it)
    flagged_unmatched: set[str] = set()
    for n, c in enumerate(claims):
        if not c.benchmark or c.subtask is not None or classify(c, hub.get(n)) == "verified":
            continue
        rows = [r for r in independent if r.benchmark == c.benchmark and _same_model(r.model, subject)
                and not (r.revision and revision and r.revision != revision)]
        if not rows:
            if require_independent and c.benchmark not in flagged_unmatched:
                flagged_unmatched.add(c.benchmark)
                add("claim-unmatched",
                    f"{subject} claims {c.display_value} on {bname(c)} ({c.where}) and no independent "
                    "evaluation of this model gives a value for it.",
                    c.origin, "medium", _source(c), c, {"benchmark": c.benchmark, "value": c.value})
            continue
        best = None
        for r in rows:
            better = _better_by(c, r)
            if better is None:
                continue
            if best is None or better < best[0]:
                best = (better, r)
        if best is None or best[0] <= tolerance:
            continue
        better, r = best
        pct = c.percent is not None and r.percent is not None
        amount = f"{_fmt(better)} points" if pct else f"{_fmt(better)}%"
        shown_r = _fmt_pct(r.percent) if r.percent is not None else _fmt(r.value)
        add("claim-exceeds-independent",
            f"{subject} claims {c.display_value} on {bname(c)} ({c.where}) but the independent value is "
            f"{shown_r} ({r.where}): {amount} better than measured.",
            "independent-evals", "high", f"{_source(c)}; {r.where}", c,
            {"benchmark": c.benchmark, "claimed": c.value, "claimed_percent": c.percent, "claim_line": c.line,
             "claim_origin": c.origin, "independent": r.value, "independent_percent": r.percent,
             "independent_source": r.source, "independent_file": r.file, "independent_row": r.row,
             "revision": r.revision, "difference": better, "scale": "points" if pct else "relative-percent",
             "higher_is_better": c.higher_is_better})
    return out


def _better_by(c: Claim, r: Independent) -> float | None:
    """How much better the claim is than the independent value: points on the percent scale when both are
    percentages, else percent of the independent value; negative when worse. None when not comparable."""
    lower = c.higher_is_better is False
    if c.percent is not None and r.percent is not None:
        diff = c.percent - r.percent
        return -diff if lower else diff
    if c.percent is None and r.percent is None:
        if r.value == 0:
            return None
        diff = (c.value - r.value) / abs(r.value) * 100.0
        return -diff if lower else diff
    return None


def _gap(a: Claim, b: Claim) -> float:
    if _both_pct(a, b):
        return abs((a.percent or 0.0) - (b.percent or 0.0))
    return abs(a.value - b.value)


def _both_pct(a: Claim, b: Claim) -> bool:
    return a.percent is not None and b.percent is not None


def _same_model(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _source(c: Claim) -> str:
    if c.origin == "eval-results":
        return f".eval_results/{c.file}" if c.file else ".eval_results"
    return f"card line {c.line}" if c.line else c.origin


def _quote(text: str) -> str:
    words = text.split()
    return " ".join(words[:25])


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _fmt(x: float) -> str:
    return f"{x:.1f}" if abs(x) >= 1 or x == 0 else f"{x:.3g}"


def _fmt_pct(x: float | None) -> str:
    return "?" if x is None else f"{x:.1f}%"
