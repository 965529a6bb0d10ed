"""Lineage a card states in its prose but not in its front matter ("distilled from DeepSeek-R1", "fine-tuned
from Llama 3.1 8B"), as `Evidence` (method `prose`) for a person to review.

Pure: the caller supplies the card body, where it starts in the file, what the front matter declares, and the
model names (reference data `rules/evidence/model_names.yaml`, read with `load_names`).

Cards are hostile input. The body is cut at `MAX_BODY` characters and each line at `MAX_LINE`; names are found
by one left-to-right scan over ASCII letter/digit tokens (a bounded number of candidate names per token), and
the lineage phrases are RE2 patterns (linear time) run only on a bounded window around each name found. A
look-alike letter (Cyrillic “е”, fullwidth “Ｌ”) or an invisible character is never part of a token, so it never
stands in for a name's letters (as in policy.model.names).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from policy import refdata
from policy.model.evidence import Evidence
from policy.records import record
from policy.refdata import DataProblem

MAX_BODY = 1 << 20  # characters of the body read
MAX_LINE = 4000  # characters of one line read
MAX_ITEMS = 200  # evidence items returned
MAX_QUOTE_WORDS = 25
MAX_MENTIONS = 5000  # name mentions examined for a lineage statement (real cards have a few dozen)
MAX_NAME_TOKENS = 16  # tokens of one surface form in the data
_WINDOW = 160  # characters before a name searched for a lineage phrase
_AFTER = 60  # characters after a name searched for "as the teacher", "was distilled into"
_LIST_SPAN = 160  # characters after an explicit phrase searched for names no list holds ("combines X and Y")
_SEPARATORS = frozenset(" -_.")  # may stand for one another inside a name
_JOINERS = frozenset("-_.")  # a name continued by one of these + letter/digit is part of a longer name
KINDS = ("model", "api")
TEACHER_CODE = "prose-undeclared-teacher"
BASE_CODE = "prose-undeclared-base"
_JOINED_VERBS = ("generated", "distilled", "synthesized", "synthesised", "labeled", "labelled", "annotated",
                 "written", "created", "produced")


# --- names ----------------------------------------------------------------------------------------------------

@record(slots=True)
class ModelName:
    """One entry of the data: the model (or, `vague`, the family) a set of surface forms denotes."""

    id: str | None
    kind: str
    family: str
    vague: bool
    names: tuple[str, ...]


@record(slots=True)
class Match:
    """A model name found in prose: its offsets, the text as written, the model."""
    start: int  # offsets in the text searched
    end: int
    text: str  # the name as written
    model: ModelName


def _is_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


class _Lazy:
    """A pattern compiled when first used: most cards never reach the rarer checks, and every process would
    otherwise pay for compiling them at import (the pre-commit hook starts one per commit)."""

    __slots__ = ("_args", "_pattern")

    def __init__(self, *args: Any) -> None:
        self._args = args
        self._pattern: re.Pattern[str] | None = None

    def _get(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(*self._args)
        return self._pattern

    def search(self, *args: Any) -> re.Match[str] | None:
        return self._get().search(*args)

    def match(self, *args: Any) -> re.Match[str] | None:
        return self._get().match(*args)

    def fullmatch(self, *args: Any) -> re.Match[str] | None:
        return self._get().fullmatch(*args)

    def sub(self, *args: Any) -> str:
        return self._get().sub(*args)

    def finditer(self, *args: Any) -> Iterator[re.Match[str]]:
        return self._get().finditer(*args)


# The phrases that follow a name (`_POST`): a name no list holds is looked for just before one ("X as the base").
_POST_CUE = _Lazy(r" as (?:the |a |its |our )?(?:base|foundation|starting point|teachers?)\b|distilled (?:in)?to"
                  r"|生成的|产生的|合成的|蒸馏|微调|精调")
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+")  # linear: single character classes, nothing to backtrack into


def _tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) of each maximal run of ASCII letters or of ASCII digits."""
    return [m.span() for m in _TOKEN.finditer(text)]


def _key(text: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in _TOKEN.findall(text))  # lower after: a non-ASCII letter never lowers into one


_END = ""  # key of a trie node's model (tokens are never empty)


class Names:
    """Known model names, found in text longest first (see `find`)."""

    def __init__(self, models: Sequence[ModelName]) -> None:
        self.models = tuple(models)
        self._trie: dict[str, Any] = {}
        self._ids = {m.id.lower(): m for m in self.models if m.id is not None}
        for i, model in enumerate(self.models):  # a problem is placed at models[i] of the data
            for j, name in enumerate(model.names):
                key = _key(name)
                if not key or len(key) > MAX_NAME_TOKENS:
                    raise DataProblem(f"model name {name!r}: no letters or digits, or too long",
                                      ("models", i, "names", j))
                node = self._trie
                for word in key:
                    node = node.setdefault(word, {})
                other = node.get(_END)
                if other is not None and other is not model:
                    raise DataProblem(f"model name {name!r} is listed for both {other.id or other.family!r} and "
                                      f"{model.id or model.family!r}", ("models", i, "names", j))
                node[_END] = model

    def find(self, text: str) -> list[Match]:
        """Known names in `text`, left to right, not overlapping; at each place the longest name wins.

        ASCII case is ignored; between the tokens of a name one space, `-`, `_` or `.` (or nothing, at a
        letter/digit boundary) may be written. A name must stand alone: not inside a longer word, and not
        continued by `-`/`_`/`.` + letter or digit (then it is part of a longer name this data does not know).
        A name written as the repo part of an id ("acme/deepseek-coder-6.7b-base") is that model only when the id
        is the listed one or has its owner; another owner's repo is left to be read as the id it is.
        One pass over the tokens; at each token at most MAX_NAME_TOKENS trie steps."""
        toks = _tokens(text)
        lower = text.lower()
        out: list[Match] = []
        n = len(toks)
        i = 0
        while i < n:
            a, b = toks[i]
            node = self._trie.get(lower[a:b])
            if node is None or not _starts_alone(text, a):
                i += 1
                continue
            ends: list[tuple[int, ModelName]] = []  # (last token index, model) of each name that matches
            k = i
            while True:
                model = node.get(_END)
                if model is not None:
                    ends.append((k, model))
                if k + 1 >= n:
                    break
                gap_start, (c, d) = toks[k][1], toks[k + 1]
                if c - gap_start > 1 or (c > gap_start and text[gap_start] not in _SEPARATORS):
                    break
                node = node.get(lower[c:d])
                if node is None:
                    break
                k += 1
            owner = _owner_before(text, a)
            for last, model in reversed(ends):
                end = toks[last][1]
                if owner is not None:
                    owned = self._owned(owner, text[a:end], model)
                    if owned is None:
                        continue  # another owner's repo of this name: not the listed model
                    model = owned
                if _ends_alone(text, end):
                    longer = _LONGER_NAME.match(text, end) if end < len(text) and text[end] == " " else None
                    if longer is not None and not model.vague:
                        # "Llama 2 13B Chat - LimaRP v2": a display name ends where the name ends, and this one
                        # is longer than any name listed: the model it names is not the listed one
                        end = longer.end()
                        model = ModelName(None, model.kind, model.family, False, ())
                    out.append(Match(a, end, text[a:end], model))
                    i = last + 1
                    while i < n and toks[i][0] < end:
                        i += 1
                    break
            else:
                i += 1
        return out


    def _owned(self, owner: str, name: str, model: ModelName) -> ModelName | None:
        """The model `owner/name` denotes: a listed id, or the listed model when `owner` publishes it."""
        listed = self._ids.get(f"{owner}/{name}".lower())
        if listed is not None:
            return listed
        if model.id is not None and model.id.split("/", 1)[0].lower() == owner.lower():
            return model
        return None


_OWNER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _owner_before(text: str, start: int) -> str | None:
    """The owner of an `owner/name` id whose name starts at `start` (at most 96 characters back), or None."""
    if start < 2 or text[start - 1] != "/" or not _is_alnum(text[start - 2]):
        return None
    j = start - 1
    while j > 0 and start - j <= 96 and text[j - 1] in _OWNER_CHARS:
        j -= 1
    return text[j:start - 1]


def _starts_alone(text: str, start: int) -> bool:
    if start == 0:
        return True
    before = text[start - 1]
    if _is_alnum(before):
        return False
    return not (before in _JOINERS and start >= 2 and _is_alnum(text[start - 2]))


# What continues a listed name into a longer display name: a variant word ("Chat", "Instruct"), then perhaps a
# community model's name after a dash ("- LimaRP v2"); "base" and "hf" name the listed (base) model itself, a
# packaging word after the dash ("- GPTQ", TheBloke's titles) names the same model packaged, a plain word ("- the
# best") is prose, and a sentence's final period is not part of a name.
_LONGER_NAME = re.compile(
    r"(?: (?i:chat|instruct|it|sft|dpo|rlhf)(?![\w-]))+"
    r"(?: - (?!(?i:gguf|gptq|awq|exl2|mlx|fp16|bf16|int4|int8|ggml|onnx)\b)"
    r"[A-Za-z]*(?:[A-Z][a-z]*[A-Z]|\d)(?:[\w]|\.(?=\w))*(?: v?\d(?:[\w]|\.(?=\w))*)?)?"
    r"| - (?!(?i:gguf|gptq|awq|exl2|mlx|fp16|bf16|int4|int8|ggml|onnx)\b)"
    r"[A-Za-z]*(?:[A-Z][a-z]*[A-Z]|\d)(?:[\w]|\.(?=\w))*(?: v?\d(?:[\w]|\.(?=\w))*)?")


def _ends_alone(text: str, end: int) -> bool:
    """Not continued by a letter or digit, nor by `-`/`_`/`.` + one (a longer name), nor by `/` + one (an org
    followed by its repo name: "meta-llama/Meta-Llama-3-8B" is the repo, not the vague "Meta Llama")."""
    if end >= len(text):
        return True
    after = text[end]
    if _is_alnum(after):
        return False
    if after == "-" and text[end + 1:end + 12].lower().startswith(_JOINED_VERBS):
        return True  # "GPT-4-generated data": the name, then a verb
    return not ((after in _JOINERS or after == "/") and end + 1 < len(text) and _is_alnum(text[end + 1]))


_HUB = "https://huggingface.co/"


def load_names(data: Any) -> Names:
    """`Names` from the parsed data of `rules/evidence/model_names.yaml`; a `ValueError` names what is wrong (a
    `DataProblem` at the path of the value)."""
    if not isinstance(data, Mapping) or data.get("schema_version") != 1:
        raise DataProblem("model names: expected a mapping with `schema_version: 1`")
    items = data.get("models")
    if not isinstance(items, list):
        raise DataProblem("model names: `models` must be a list", ("models",))
    models = []
    for index, item in enumerate(items):
        where = f"model names: entry {index + 1}"
        at = ("models", index)
        if not isinstance(item, Mapping):
            raise DataProblem(f"{where}: not a mapping", at)
        vague = item.get("vague", False)
        model_id = item.get("id")
        kind = item.get("kind", "model")
        family = item.get("family")
        names = item.get("names")
        if not isinstance(vague, bool) or not isinstance(family, str) or not family:
            raise DataProblem(f"{where}: needs a `family` (and `vague` must be true or false)", at)
        if vague == (model_id is not None):
            raise DataProblem(f"{where}: an entry has an `id` unless it is `vague: true`", at)
        if model_id is not None and (not isinstance(model_id, str) or model_id.count("/") != 1):
            raise DataProblem(f"{where}: `id` must be owner/name", (*at, "id"))
        if kind not in KINDS:
            raise DataProblem(f"{where}: `kind` must be one of {', '.join(KINDS)}", (*at, "kind"))
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise DataProblem(f"{where}: `names` must be a non-empty list of strings", (*at, "names"))
        source = item.get("source")
        if not isinstance(source, str) or not source.startswith("https://") or len(source.split()) != 1:
            raise DataProblem(f"{where}: needs a `source`, the https URL where the model is published",
                              (*at, "source") if "source" in item else at)
        if kind == "model" and model_id is not None and source != _HUB + model_id:
            raise DataProblem(f"{where}: the `source` of open weights is their Hub page, {_HUB}{model_id}",
                              (*at, "source"))
        models.append(ModelName(model_id, kind, family.lower(), vague, tuple(names)))
    return Names(models)


def names_from_file(path: Path) -> Names:
    """`Names` from a model names file, validated and read once per process (`policy.refdata`)."""
    return refdata.load("model_names", path, build=load_names)  # type: ignore[no-any-return]


def default_names() -> Names:
    """The shipped `rules/evidence/model_names.yaml`."""
    return refdata.load("model_names", build=load_names)  # type: ignore[no-any-return]


# --- names no list holds ----------------------------------------------------------------------------------------

# `org/name` as the Hub writes ids: the org ends with a letter (so "GPT-4/Claude" and "14B/32B" are not ids) and the
# name has a separator (Hub repo names nearly always do; "and/or" and "w/o" do not).
_ID_TOKEN = re.compile(r"(?<![\w./-])([A-Za-z0-9][A-Za-z0-9_.-]{0,94}[A-Za-z])/([A-Za-z0-9][A-Za-z0-9_.]*[-_.]"
                       r"[A-Za-z0-9][A-Za-z0-9_.-]{0,90})(?![\w/{-])")
# A model-shaped word: letters and digits joined by `-`, `_` or `.` ("deepseek-coder-6.7b-base", "DeepSeek-V2-Chat",
# "OpenDalleV1.1"), with a digit and at least three letters (the lookahead finds the digit in C, so that most words
# are never looked at in Python). Only ever looked for right after an explicit lineage phrase (`_with_words`),
# never in a comparison or a list of benchmarks.
_MODEL_WORD = re.compile(r"(?<![\w./-])(?=[A-Za-z][A-Za-z0-9_.-]{0,60}?[0-9])"
                         r"([A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+){1,8})(?![\w/-]|\.[A-Za-z0-9])")
_FILE_ENDINGS = (".gguf", ".bin", ".safetensors", ".pt", ".pth", ".py", ".json", ".yaml", ".yml", ".md", ".txt",
                 ".onnx", ".ckpt", ".zip", ".sh")


def _unlisted_model(model_id: str | None, name: str) -> ModelName:
    return ModelName(model_id, "model", (model_id or name).rsplit("/", 1)[-1].lower(), False, ())


def _model_word(word: str) -> bool:
    """At least six characters, three letters and a digit, not a file name (the pattern gives the separator)."""
    if len(word) < 6 or word.lower().endswith(_FILE_ENDINGS) or not any(c.isdigit() for c in word):
        return False
    return sum(c.isalpha() for c in word) >= 3


def _known_prefix(word: str, names: Names) -> ModelName | None:
    """The known model a longer form names: "gpt-3.5-turbo-1106" is GPT-3.5 Turbo, a dated snapshot."""
    cut = len(word)
    for _ in range(4):
        cut = max(word.rfind("-", 0, cut), word.rfind("_", 0, cut))
        if cut <= 0:
            return None
        found = names.find(word[:cut])
        if found and found[0].start == 0 and found[0].end == cut and found[0].model.id is not None:
            return found[0].model  # an exact model only: "DeepSeek-V2-Chat" is no more "a DeepSeek model"
    return None


def _free(taken: list[tuple[int, int]], a: int, b: int) -> bool:
    return all(b <= s or a >= e for s, e in taken)


def _with_ids(text: str, known: list[Match]) -> list[Match]:
    """`known` with every `org/name` id no list holds."""
    if "/" not in text:
        return known
    taken = [(m.start, m.end) for m in known]
    extra: list[Match] = []
    for m in _ID_TOKEN.finditer(text):
        a = m.start()
        token = m.group(0).rstrip("._-")  # "… and openchat/openchat-3.5-1210." ends the sentence
        b = a + len(token)
        if _free(taken, a, b):
            extra.append(Match(a, b, token, _unlisted_model(token, token)))
            taken.append((a, b))
    return sorted([*known, *extra], key=lambda m: m.start) if extra else known


def _with_words(text: str, known: list[Match], names: Names, windows: Sequence[tuple[int, int]]) -> list[Match]:
    """`known` with the model-shaped words no list holds that stand in `windows` (the text right after an
    explicit lineage phrase: nowhere else is such a word taken for a name)."""
    taken = [(m.start, m.end) for m in known]
    extra: list[Match] = []
    for lo, hi in windows:
        for m in _MODEL_WORD.finditer(text, lo, hi):
            a, b = m.span()
            word = m.group(1)
            if _model_word(word) and _free(taken, a, b):
                extra.append(Match(a, b, word, _known_prefix(word, names) or _unlisted_model(None, word)))
                taken.append((a, b))
    return sorted([*known, *extra], key=lambda m: m.start) if extra else known


def _masked(low: str, matches: Sequence[Match]) -> str:
    """The lower-cased text with each name found replaced by NULs (phrases never match inside a name)."""
    chars = list(low)
    for m in matches:
        chars[m.start:m.end] = "\x00" * (m.end - m.start)
    return "".join(chars)


# --- lineage phrases -------------------------------------------------------------------------------------------

# Each pattern ends right before the gap that leads to the model name; `\x00` stands for a name already found.
# (relation, strength, pattern): strength "explicit" (a distillation or fine-tuning verb) or "weak".
_PRE = (
    # the card template's lines, at the start of a line or a table cell: "Finetuned from model: X", "Original
    # model: X", "Base model | X" (first, so that "finetuned from" alone does not take the line)
    ("base", "explicit", r"(?:^[-*+ ]*|; )(?:fine-?tuned|finetuned|quanti[sz]ed|converted|derived|merged) from"
                         r"(?: model)? ?[:;]"),
    ("base", "explicit", r"(?:^[-*+ ]*|; )(?:original|base|parent|source) (?:model|repo|repository|checkpoint) ?[:;]"),
    ("distillation", "explicit",
     r"distill(?:ed|ing|ation|s)?[a-z -]{0,30}? (?:from|of|with|using)"),
    ("distillation", "explicit", r"distillation (?:sources?|teachers?)"),
    ("distillation", "explicit", r"teachers?(?: models?)?"),
    ("distillation", "explicit",
     r"(?:trained|tuned|finetuned|sft|aligned) (?:on|with|using) [a-z -]{0,30}?\b"
     r"(?:outputs?|responses?|generations?|completions?|answers?|samples?|data|traces?) (?:of|from|by)"),
    ("distillation", "explicit",
     r"(?:using|use|used|with) [a-z -]{0,30}?\b"
     r"(?:outputs?|responses?|generations?|completions?|samples?|traces?|data) (?:of|from|by)"),
    ("distillation", "explicit",
     r"(?:data|dataset|datasets|samples|examples|responses|dialogues|conversations|answers|traces|completions"
     r"|instructions|annotations|labels)\b[a-z -]{0,25}? (?:generated|produced|synthesi[sz]ed|created|curated"
     r"|distilled|collected|written|labell?ed|annotated) (?:by|with|using|from)"),
    ("distillation", "explicit", r"(?:synthetic|generated)[a-z -]{0,25}? (?:by|with|using|from)"),
    ("distillation", "weak", r"(?:outputs?|responses?|generations?|completions?) (?:of|from)"),
    ("distillation", "weak", r"knowledge (?:from|of)"),
    ("base", "explicit",
     r"(?:fine[- ]?tun(?:e|ed|es|ing)|fine[- ]?tuned version|fine[- ]?tuned variant|fine[- ]?tuned checkpoint)"
     r" (?:from|of|on top of|atop|upon)"),
    ("base", "explicit", r"(?:trained|tuned|sft) on top of"),
    ("base", "explicit", r"continued? (?:pre-?training|pre-?trained|training|trained)[a-z -]{0,25}?"
                         r" (?:of|from|on top of)"),
    ("base", "explicit", r"(?:a |the )?merge (?:of|between)"),
    ("base", "explicit", r"merged (?:from|with)"),
    ("base", "explicit",
     r"(?:quantized|quantised|gguf|awq|gptq|exl2|mlx|4-bit|8-bit) (?:version|versions|quants?|model|build)"
     r" of"),
    ("base", "explicit", r"(?:quantizations?|quantisations?|quants?) of"),
    ("base", "explicit", r"quanti[sz]ed from"),
    ("base", "explicit", r"(?:derived|initiali[sz]ed|adapted) from"),
    ("base", "explicit", r"post-?train(?:ed|ing)?"),
    ("base", "explicit", r"(?:(?:lora|qlora|peft) )?adapters? (?:for|of|on top of|on)"),
    ("base", "explicit", r"original (?:model|weights)"),
    ("base", "explicit", r"(?:gguf|awq|gptq|exl2|mlx)[a-z -]{0,25}? (?:of|for)\b"),
    ("base", "explicit", r"(?:improved|upgraded|updated|enhanced|uncensored|abliterated) version of"),
    ("base", "explicit", r"(?:smaller|pruned|distilled|fp8|fp16|bf16|compressed|converted|repackaged)[a-z -]{0,15}?"
                         r" (?:checkpoint|version|variant|copy) (?:of|for)\b"),
    ("base", "explicit", r"combin(?:es|ed|ing)"),
    ("base", "explicit", r"self-?merge (?:of|using|with)"),
    ("base", "explicit", r"(?:weights|adapters?|loras?|controlnets?) (?:trained|fine-?tuned) (?:on|for)"),
    ("base", "explicit", r"fuses? (?:onto|into)"),
    ("base", "explicit", r"(?:trained|built|developed) based on"),
    ("base", "weak", r"(?:based|built) (?:on|upon)(?: top of)?"),
)
# Chinese, as many Hub cards are written: 蒸馏自 X (distilled from X), 微调自 X (fine-tuned from X), 基于 X (based
# on X: weak alone; "基于 X 微调" is explicit through the phrase after the name), 使用 X 生成的数据. Searched only in
# text that is not all ASCII (a second pattern: Python's re pays for every alternative at every position).
_PRE_CJK = (
    ("distillation", "explicit", r"蒸馏(?:自|于)"),
    ("base", "explicit", r"(?:微调|精调|继续预训练|量化)(?:自|于)"),
    ("base", "weak", r"基于|以"),
)
_PRE_ALL = _PRE + _PRE_CJK
# Phrases that name a list of parents ("combines X and Y", "a merge of X, Y and Z"): a model-shaped word later in
# the list is a parent too.
_LISTING = _Lazy(r"combin|(?:a |the )?merge (?:of|between)|merged (?:from|with)|self-?merge")
_POST = (  # after the name
    ("distillation", "explicit",
     r"^[ ,]*(?:models? )?(?:(?:was|is|were|being|serves|served) )?(?:(?:used|chosen) )?as (?:the |a |our )?"
     r"teachers?"),
    ("distillation", "explicit", r"^[ ,]*(?:models? )?(?:was|is|were) distilled (?:in)?to"),
    ("distillation", "explicit", r"^[ ,]*(?:-|- |)(?:generated|distilled|synthesi[sz]ed) (?:data|dataset|samples)"),
    ("base", "explicit", r"^[ ,]*(?:models? )?as (?:the |a |its |our )?(?:base|foundation|starting point)\b"),
    ("distillation", "explicit", r"^\s*(?:模型)?(?:所|生成的|产生的|合成的)(?:数据|样本|回答|回复|对话|指令)"),
    ("distillation", "explicit", r"^\s*(?:模型)?(?:中|上)?(?:蒸馏|知识蒸馏)"),
    ("base", "explicit",
     r"^\s*(?:模型)?(?:为基础|为基座|的基础上)?(?:进行了?|做了?)?(?:微调|精调|继续预训练|训练|量化)"),
)
# A sentence about other models made from the named one ("we open-source checkpoints based on Qwen2.5", "we
# fine-tuned several dense models", "multimodal models built on Phi-2"), not about this model.
_DOWNSTREAM = _Lazy(
    r"\b(?:checkpoints|models|variants|versions)\b(?: [a-z0-9.,-]+){0,3}? (?:are |were )?"
    r"(?:based on|built on|built upon|fine-?tuned (?:from|on)|distilled from|derived from)\b"
    r"|\bwe (?:have )?(?:fine-?tuned?|distill(?:ed)?|train(?:ed)?|open-?sourced?|release[ds]?)"
    r"(?: [a-z0-9.,-]+){0,6}? (?:models|checkpoints)\b"
    r"|(?:基于|以)[^。；]{0,60}?(?:构建|开发|训练|微调)的[^。；]{0,30}?模型"  # "models built on X" (Chinese)
    r"|(?:超越|超过|优于|胜过|相比|对比|比较)[^。；，]{0,12}?基于")  # "surpasses models based on X": a comparison
# A plan, not a fact: "we plan to distill from X", "X will be used as the teacher".
_PLAN = _Lazy(r"\b(?:plan(?:s|ning)? to|will|intend(?:s|ed)? to|going to|future work|todo|to-do|coming soon)\b"
                   r"|计划|打算|将会|即将")
_NEGATIONS = frozenset({"not", "never", "without", "unlike", "no", "nor", "neither", "instead", "rather",
                        "except", "excluding"})
_FILLER = frozenset({
    "the", "a", "an", "both", "and", "or", "&", "model", "models", "its", "their", "our", "larger", "large",
    "largest", "bigger", "original", "official", "teacher", "teachers", "base", "pretrained", "pre-trained",
    "version", "versions", "of", "series", "family", "checkpoint", "checkpoints", "weights", "logits", "top-k",
    "outputs", "output", "is", "was", "are", "were", ":", "-", "(", ")", "i.e.",
    "meta", "meta's", "openai", "openai's", "anthropic", "anthropic's", "google", "google's", "alibaba's",
    "deepseek's", "mistral's", "microsoft's", "frontier", "proprietary", "open-source", "open", "source",
    "strong", "stronger", "powerful", "state-of-the-art", "llm", "llms", "lm", "lms", "api", "apis", "two",
    "several", "multiple", "various", "like", "such", "as", "e.g.", "e.g.,", "including", "namely", "which",
    "instruct", "chat", "dense", "mainly", "primarily", "mostly", "exclusively", "directly",
})
_NOT_THE_MODEL = tuple(prefix + word for prefix in ("", "model ") for word in (
    "architecture", "tokenizer", "tokeniser", "vocabulary", "chat template", "prompt format", "template", "format",
    "style"))


# The explicit phrases that can lead to a name no list holds (a Hub id or a model-shaped word): a unit without one
# and without a known name is not read further.
_CUE = re.compile(r"distil|teacher|fine-?tun|finetun|initiali|version of|(?:checkpoint|copy|variant) (?:of|for)|merge"
                  r"|quanti|combin|gguf|awq|gptq|exl2|mlx|deriv|based|built|adapter|weights|lora|controlnet|fuse"
                  r"|original|base model|parent|source model|generat|synthe|output|trained")


# Every phrase of _PRE and _POST contains one of these: a unit without any states no lineage.
_KEYWORDS = re.compile(r"distil|teacher|train|tun|sft|output|respons|generat|complet|answer|sample|trace|data|synthe"
                       r"|produc|creat|curat|collect|writt|label|annotat|knowledge|merge|quant|gguf|awq|gptq|exl2"
                       r"|mlx|-bit|deriv|initiali|adapt|based|built|original|version of|combin|base model"
                       r"|base repo|base checkpoint|parent model|parent repo|source model|source repo|fuse|weights"
                       r"|lora|controlnet|checkpoint|as (?:the |a |its |our )?(?:base|foundation|starting point)")
_KEYWORDS_CJK = _Lazy(r"蒸馏|微调|精调|训练|量化|生成|基于")


@cache
def _compiled(ascii_only: bool = True) -> tuple[Any, re.Pattern[str]]:
    """One pattern for the phrases before a name (group k+1 is `_PRE_ALL[k]`; for ASCII text only those of
    `_PRE`), one for those after it (group k+1 is `_POST[k]`). Every repetition is bounded and none is nested.
    The first, a large alternation run over every unit with a name in it, is compiled with RE2 (an automaton:
    linear in the text whatever it holds, and about 15 times faster here than Python's backtracking `re`,
    which tries each alternative at each position); RE2 keeps the same leftmost-first choice."""
    import re2

    phrases = _PRE if ascii_only else _PRE_ALL
    pre = re2.compile(r"(?:^|[^a-z0-9-])(?:" + "|".join(f"({pat})" for _, _, pat in phrases) + ")")
    return pre, _post_pattern()


@cache
def _post_pattern() -> re.Pattern[str]:
    return re.compile("|".join(f"({pat})" for _, _, pat in _POST))


# --- the body as prose ------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Unit:  # one paragraph, list item, heading or table row, cleaned
    parts: list[str]  # its lines, joined by one space
    starts: list[int]  # offset in the joined text of each line
    lines: list[int]  # the card line of each
    alone: bool = False  # a heading or a table row: no line joins it
    size: int = 0

    @property
    def text(self) -> str:
        return " ".join(self.parts)


# Linear patterns: each run excludes the characters that could start another match, so runs never overlap.
_URL = re.compile(r"(?i:https?://)[^\s<>()\[\]\"']*")
_LINK_TARGET = re.compile(r"\]\([^()\[\]\s]*\)")
_TAG = re.compile(r"<[A-Za-z/][^<>]*>")
_REF_LINK = _Lazy(r"\]\[[^\[\]]{0,100}\]")  # `[text][ref]`: the reference, not text
_MARKS = str.maketrans("", "", "*`[]")


# A link to a model on the Hub is the best evidence a card gives: `[the text](https://huggingface.co/org/name)` and
# a bare `https://hf.co/org/name` read as `org/name`. Datasets, Spaces and the Hub's own pages are not models.
_HUB_LINK = re.compile(r"\[[^\[\]]{0,200}\]\((?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/"
                       r"([A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?:/(?:tree|blob|resolve)/[^()\s]*)?/?\)")
_HUB_URL = re.compile(r"(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/"
                      r"([A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?:/(?:tree|blob|resolve)/[^\s()<>]*)?/?"
                      r"(?![\w/])")
_GENERIC_LINK_TEXT = frozenset({"here", "this", "link", "thisproject", "thismodel", "thisrepo", "original",
                                "originalmodel", "originalrepo", "model", "repo", "huggingface", "hf", "hub"})
_NOT_MODELS = frozenset({"datasets", "spaces", "docs", "blog", "papers", "models", "collections", "organizations",
                         "settings", "join", "login", "pricing", "learn", "tasks", "chat", "api"})


def _hub_ids(line: str) -> str:
    def url(m: re.Match[str]) -> str:
        repo_id = m.group(1)
        return m.group(0) if repo_id.split("/", 1)[0].lower() in _NOT_MODELS else f" {repo_id} "

    def link(m: re.Match[str]) -> str:
        repo_id = m.group(1)
        if repo_id.split("/", 1)[0].lower() in _NOT_MODELS:
            return m.group(0)
        text = m.group(0)[1:m.group(0).index("](")]
        if "hf.co/" in text or "huggingface.co/" in text:
            return _HUB_URL.sub(url, text)  # "[GGUF of https://huggingface.co/org/name](…)"
        said = re.sub(r"[^a-z0-9]", "", text.lower())
        if "/" in text or not said or said in re.sub(r"[^a-z0-9]", "", repo_id.lower()) or said in _GENERIC_LINK_TEXT:
            return f" {repo_id} "  # the text names the repo, or nothing ("this project", "here")
        return f"{text} ({repo_id})"

    if "](" in line:
        line = _HUB_LINK.sub(link, line)
    if "huggingface.co/" in line or "hf.co/" in line:
        line = _HUB_URL.sub(url, line)
    return line


def _clean_inline(line: str) -> str:
    """Hub links read as the ids they name; other link targets, bare URLs and HTML tags removed; link text kept;
    emphasis and code marks dropped."""
    if line.isalnum():
        return line
    if "hf.co/" in line or "huggingface.co/" in line:
        line = _hub_ids(line)
    if "](" in line:
        line = _LINK_TARGET.sub("]", line)
    if "][" in line:
        line = _REF_LINK.sub("]", line)
    if "<" in line:
        line = _TAG.sub(" ", line)
    if "://" in line:
        line = _URL.sub(" ", line)
    return line.translate(_MARKS)


_KEY_CELL = _Lazy(r"(?:original|base|parent|source) (?:model|repo|repository|checkpoint)|(?:fine-?tuned|finetuned"
                       r"|quanti[sz]ed|converted|derived|merged) from(?: model)?", re.IGNORECASE)


def _row(text: str) -> str:
    """A table row as prose: cells apart (each its own sentence), except a two-cell row whose first cell is a
    template key ("| Base model | X |"), which reads as "Base model: X"."""
    cells = [c.strip() for c in text.strip().strip("|").split("|")]
    filled = [c for c in cells if c]
    if len(filled) == 2 and _KEY_CELL.fullmatch(filled[0]):
        return f"{filled[0]}: {filled[1]}"
    return text.replace("|", " ; ")


def _is_block_start(stripped: str) -> bool:
    if not stripped:
        return False
    c = stripped[0]
    if c in "#|>":
        return True
    if c in "-*+" and stripped[1:2] == " ":
        return True
    digits = 0
    while digits < len(stripped) and digits < 9 and stripped[digits].isdigit():
        digits += 1
    return 0 < digits < len(stripped) and stripped[digits] in ".)" and stripped[digits + 1: digits + 2] in (" ", "")


def _strip_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """The line without HTML comments (which may open or close on other lines), and whether one is open."""
    parts: list[str] = []
    pos = 0
    while True:
        if in_comment:
            close = line.find("-->", pos)
            if close == -1:
                return " ".join(parts), True
            in_comment = False
            pos = close + 3
        else:
            opening = line.find("<!--", pos)
            if opening == -1:
                parts.append(line[pos:])
                return " ".join(parts), False
            parts.append(line[pos:opening])
            in_comment = True
            pos = opening + 4


def _units(body: str, body_start_line: int) -> Iterable[_Unit]:
    """Prose units of the body, with fenced and indented code and HTML comments left out."""
    fence = ""
    in_comment = False
    prev_blank = True  # the previous line was blank (an indented line after it is code)
    prev_code = False
    unit: _Unit | None = None
    for number, raw in enumerate(body.split("\n"), body_start_line):
        if fence:
            if fence in raw and raw.lstrip().startswith(fence):
                fence = ""
            prev_blank, prev_code = False, True
            continue
        line = raw if len(raw) <= MAX_LINE else raw[:MAX_LINE]
        if in_comment or "<!--" in line:
            line, in_comment = _strip_comments(line, in_comment)
        stripped = line.strip()
        if not stripped:
            if unit is not None:
                yield unit
                unit = None
            prev_blank, prev_code = True, False
            continue
        first = stripped[0]
        if first in "`~" and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            if unit is not None:
                yield unit
                unit = None
            continue
        block = first in "#|>-*+0123456789" and _is_block_start(stripped)
        if (prev_blank or prev_code) and unit is None and not block and line[0] in " \t" and (
                line[0] == "\t" or len(line) - len(line.lstrip(" \t")) >= 4):
            prev_blank, prev_code = False, True  # indented code
            continue
        prev_blank, prev_code = False, False
        text = _clean_inline(stripped)
        if first in "#>":
            text = text.lstrip("#> ")
        if "|" in text:
            text = _row(text)
        if unit is not None and (block or unit.alone):
            yield unit
            unit = None
        if unit is None:
            unit = _Unit([text], [0], [number], first in "#|", len(text))
        else:
            unit.starts.append(unit.size + 1)
            unit.lines.append(number)
            unit.parts.append(text)
            unit.size += 1 + len(text)
    if unit is not None:
        yield unit


_SENTENCE_END = re.compile(r"[.!?;](?: |\Z)|[。！？；]")


def _sentences(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each sentence: ends at `.`, `!`, `?` or `;` followed by a space, or the end."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        yield start, m.start() + 1
        start = m.start() + 1
    if start < len(text):
        yield start, len(text)


# --- the check --------------------------------------------------------------------------------------------------

def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [i for i in value or () if isinstance(i, str)]


def _repo(model_id: str) -> str:
    return model_id.rsplit("/", 1)[-1].lower()


def _declared(model: ModelName, ids: Sequence[str]) -> bool:
    """A declared id counts for the model when it is the same id, the same repo name under another org, or a
    variant of it (the same family and size: "Gemma 2 9B" when `google/gemma-2-9b-it` is declared, the text
    naming its declared base loosely); for a family-level name, any declared id whose repo name contains the
    family."""
    if model.id is None:
        return any(model.family in _repo(i) for i in ids)
    want = _repo(model.id)
    return any(i.lower() == model.id.lower() or _repo(i) == want or _variant_of(_repo(i), want) for i in ids)


def _variant_of(repo: str, want: str) -> bool:
    return repo.startswith(want) and _VARIANT_OF.fullmatch(repo[len(want):]) is not None


# What a declared repo's name may add to a mentioned model's and still be that model, named loosely: a variant
# ("-it", "-Instruct", "-chat-hf") or a packaging suffix ("-GGUF", "-4bit"); "-Distill-Qwen-7B" is another model.
_VARIANT_OF = re.compile(r"(?:-(?:it|instruct|chat|base|hf|sft|dpo|gguf|gptq|awq|exl2|mlx|fp16|bf16|\d+bit))+")


_CJK_NEGATIONS = ("不是", "并非", "没有", "并未", "未经", "不", "未")
_CJK_AFTER = _Lazy(r"生成|产生|合成|蒸馏|微调|精调|训练|量化|基础")


def _negated(clause: str) -> bool:
    if "n't" in clause or "n’t" in clause:
        return True
    if any(n in clause for n in _CJK_NEGATIONS):
        return True
    return any(w.strip(",:()\"'") in _NEGATIONS for w in clause.split())


def _gap_ok(gap: str) -> bool:
    words = [w for w in gap.replace(",", " , ").split() if w.strip("\x00")]
    if len(words) > 10:
        return False
    return all(w == "," or w in _FILLER or w.endswith(("'s", "’s")) or _is_org(w) for w in words)


def _is_org(word: str) -> bool:
    """`meta-llama/` right before a name: the Hub org of the repo named."""
    return len(word) > 1 and word.endswith("/") and all(_is_alnum(c) or c in "-_." for c in word[:-1])


def _quote(sentence: str, name_at: int) -> str:
    """The sentence, trimmed to at most MAX_QUOTE_WORDS words around the name (which starts at `name_at`)."""
    text = sentence
    words = text.split()
    if len(words) <= MAX_QUOTE_WORDS:
        return " ".join(words)
    index = len(text[:max(0, name_at - 1)].split())  # words before the name
    first = max(0, min(index - MAX_QUOTE_WORDS // 3, len(words) - MAX_QUOTE_WORDS))
    picked = words[first:first + MAX_QUOTE_WORDS]
    out = " ".join(picked)
    if first > 0:
        out = "…" + out
    if first + MAX_QUOTE_WORDS < len(words):
        out += "…"
    return out


_RANK = {"high": 3, "medium": 2, "low": 1}


@record(slots=True)
class _Hit:  # a lineage phrase found before some name
    start: int
    end: int
    kind: int  # index in _PRE


def _hits(masked: str, pre: Any) -> list[_Hit]:
    out = []
    for m in pre.finditer(masked):
        k = m.lastindex or 1
        out.append(_Hit(m.start(k), m.end(k), k - 1))
    return out


def _statement(masked: str, sent_start: int, match: Match, hits: Sequence[_Hit], hit_ends: Sequence[int],
               post: re.Pattern[str]) -> tuple[str, str, str, bool] | None:
    """(relation, strength, phrase, whether the phrase follows the name) when the sentence states that `match`
    is a teacher or a base, else None."""
    lo = max(sent_start, match.start - _WINDOW)
    index = bisect.bisect_right(hit_ends, match.start) - 1
    unlisted = match.model.id is None and not match.model.names
    for hit in hits[max(0, index - 1):index + 1][::-1]:  # the nearest phrase before the name, or the one before
        if hit.start < lo or not _gap_ok(masked[hit.end:match.start]):
            continue
        if unlisted and "\x00" in masked[hit.end:match.start] and not _LISTING.match(masked, hit.start):
            return None  # a model-shaped word right after its phrase, or in the list a merge names
        head = masked[lo:hit.start]
        cut = max(head.rfind(","), head.rfind(":"), head.rfind("("))
        if _negated(head[cut + 1:][-80:]) or _negated(masked[hit.start:match.start]):
            return None  # "not distilled from X", and "answers were not generated by X" (inside the phrase)
        relation, strength, _ = _PRE_ALL[hit.kind]
        if strength == "weak":  # "基于 X 进行微调", "based on X, fine-tuned ...": the phrase after the name decides
            m = post.search(masked[match.end:match.end + _AFTER])
            if m is not None and _POST[(m.lastindex or 1) - 1][:2] == (relation, "explicit"):
                strength = "explicit"
        return relation, strength, masked[hit.start:hit.end], False
    after = masked[match.end:match.end + _AFTER]
    if "teacher" not in after and "distill" not in after and "generat" not in after and "synthes" not in after \
            and " as " not in after and _CJK_AFTER.search(after) is None:
        return None
    m = post.search(after)
    if m is None:
        return None
    head = masked[lo:match.start]
    cut = max(head.rfind(","), head.rfind(":"), head.rfind("("))
    if _negated(head[cut + 1:][-80:]) or _negated(m.group(0)):
        return None
    relation, strength, _ = _POST[(m.lastindex or 1) - 1]
    return relation, strength, m.group(0).strip(" ,-"), True


def _about_another_model(subject: str, subject_repo: str, s_start: int, matches: Sequence[Match],
                         match_starts: Sequence[int], hits: Sequence[_Hit], hit_starts: Sequence[int]) -> bool:
    """True when the sentence opens with other models as its subject ("DeepSeek-R1-Distill-Llama-8B is derived
    from Llama3.1-8B-Base" in the card of DeepSeek-R1-Distill-Qwen-14B): the names before its first lineage
    phrase are all exact models and none is the card's own."""
    first = bisect.bisect_left(hit_starts, s_start)
    if first >= len(hits):
        return False
    lo, hi = bisect.bisect_left(match_starts, s_start), bisect.bisect_left(match_starts, hits[first].start)
    before = matches[lo:hi]
    if not before or any(m.model.id is None for m in before):
        return False
    return not any(m.model.id is not None and (m.model.id.lower() == subject.lower() or _repo(m.model.id) ==
                                               subject_repo) for m in before)


def prose_lineage(subject: str, body: str, body_start_line: int, declared: Mapping[str, Sequence[str]],
                  names: Names) -> list[Evidence]:
    """Teachers and bases the card's prose states but its front matter does not declare.

    `declared` holds the ids of `base_model`, `teacher_model` and `datasets` as the front matter lists them
    (`datasets` is accepted but not used: a teacher behind a dataset is not visible here). A distillation
    statement is checked against `teacher_model`, a fine-tuning/merge/quantization statement against
    `base_model`. `body_start_line` is the card line of the body's first line. Returns at most `MAX_ITEMS`
    items, one per (code, model), by line."""
    teachers = _ids(declared.get("teacher_model"))
    bases = _ids(declared.get("base_model"))
    subject_repo = _repo(subject) if subject else ""
    found: dict[tuple[str, str], Evidence] = {}
    order: list[tuple[str, str]] = []
    done: set[tuple[str, str]] = set()  # keys already at the best confidence they can have, or declared
    examined = 0
    for unit in _units(body[:MAX_BODY], body_start_line):
        text = unit.text
        low = text.lower()
        ascii_only = text.isascii()
        if _KEYWORDS.search(low) is None and (ascii_only or _KEYWORDS_CJK.search(low) is None):
            continue
        known = names.find(text)
        if not known and _CUE.search(low) is None and (ascii_only or _KEYWORDS_CJK.search(low) is None):
            continue  # a model-shaped word no list holds counts only after an explicit phrase: none here
        matches = _with_ids(text, known)
        pre, post = _compiled(ascii_only)  # compiled on the first unit worth it
        masked = _masked(low, matches)
        hits = _hits(masked, pre)
        windows = [(h.end, min(len(text), h.end + _LIST_SPAN)) for h in hits if _PRE_ALL[h.kind][1] == "explicit"]
        if " as " in low or "distilled" in low or not ascii_only:  # "X as the base", "X was distilled into"
            windows += [(max(0, c.start() - _AFTER), c.start()) for c in _POST_CUE.finditer(low)]
        if windows:
            more = _with_words(text, matches, names, windows)
            if len(more) != len(matches):
                matches = more
                masked = _masked(low, matches)
                hits = _hits(masked, pre)
        if not matches:
            continue
        hit_ends = [h.end for h in hits]
        hit_starts = [h.start for h in hits]
        match_starts = [x.start for x in matches]
        sentences = list(_sentences(text))
        ends = [e for _, e in sentences]
        for m in matches:
            model = m.model
            name_key = model.id or "family:" + model.family
            if (TEACHER_CODE, name_key) in done and (model.kind == "api" or (BASE_CODE, name_key) in done):
                continue  # nothing this mention could add
            if model.id is not None and (model.id.lower() == subject.lower() or _repo(model.id) == subject_repo):
                continue
            if model.id is None and not model.names and model.family == subject_repo:
                continue  # the card naming its own model
            if low[m.end:m.end + 30].lstrip(" -").startswith(_NOT_THE_MODEL):
                continue
            examined += 1
            if examined > MAX_MENTIONS:
                break
            s_index = bisect.bisect_right(ends, m.start)
            if s_index >= len(sentences):
                continue
            s_start, s_end = sentences[s_index]
            stated = _statement(masked, s_start, m, hits, hit_ends, post)
            if stated is None:
                continue
            relation, strength, phrase, after_name = stated
            if model.id is None and not model.names and strength != "explicit":
                continue  # a model-shaped word no list holds: only where an explicit phrase leads to it
            if _DOWNSTREAM.search(low, s_start, s_end) or _PLAN.search(low, s_start, m.start):
                continue  # other models' lineage ("checkpoints based on X"), or a plan ("we will distill X")
            if not after_name and _about_another_model(subject, subject_repo, s_start, matches, match_starts, hits,
                                                       hit_starts):
                continue
            if relation == "base" and model.kind == "api":
                continue  # an API model has no weights to fine-tune, merge or quantize: not a base
            if relation == "distillation" and phrase.startswith("knowledge") and \
                    "distill" not in low[s_start:s_end]:
                continue
            code = TEACHER_CODE if relation == "distillation" else BASE_CODE
            key = (code, name_key)
            if key in done:
                continue
            ids = teachers if relation == "distillation" else bases
            if _declared(model, ids) or (
                    # the card links the model already (under the other relation): the text is about others
                    model.id is not None and _declared(model, bases if relation == "distillation" else teachers)):
                done.add(key)
                continue
            confidence = "high" if strength == "explicit" else "low"
            if model.vague:
                confidence = "medium" if strength == "explicit" else "low"
            previous = found.get(key)
            if previous is not None and _RANK[previous.confidence] >= _RANK[confidence]:
                continue
            line = unit.lines[bisect.bisect_right(unit.starts, m.start) - 1]
            field = "teacher_model" if relation == "distillation" else "base_model"
            what = "was distilled from" if relation == "distillation" else "derives from"
            shown = model.id or f"a {model.family} model"
            evidence = Evidence(
                code=code,
                message=f"the card's text says the model {what} {m.text!r} ({shown}), which {field} does not "
                        "declare",
                method="prose", confidence=confidence, source=f"card line {line}", subject=subject, line=line,
                quote=_quote(text[s_start:s_end], m.start - s_start), refers_to=model.id,
                data={"relation": relation, "name": m.text, "id": model.id, "family": model.family,
                      "kind": model.kind, "vague": model.vague, "phrase": phrase.strip()})
            if previous is None:
                order.append(key)
            found[key] = evidence
            if confidence == ("medium" if model.vague else "high"):
                done.add(key)
            if len(order) >= MAX_ITEMS and previous is None:
                break
        if len(order) >= MAX_ITEMS or examined > MAX_MENTIONS:
            break
    items = [found[k] for k in order]
    exact = {(e.code, e.data["family"]) for e in items if e.refers_to is not None}
    items = [e for e in items if e.refers_to is not None or (e.code, e.data["family"]) not in exact]
    items.sort(key=lambda e: e.line)
    return items[:MAX_ITEMS]


def body_start_line(text: str, body: str) -> int:
    """The card line of the first line of `body` (the `Card.body` that `parse_card` returned for `text`)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = len(text) - len(body)
    return text.count("\n", 0, max(0, head)) + 1
