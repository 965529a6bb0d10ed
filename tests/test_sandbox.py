"""The template sandbox (issue 17, item 13): every template runs immutable and on a budget, and a template that
fails or goes over it is a configuration error at its file and line (exit 2), never an internal error, a
traceback, a hang or the text of an exception.

Hostile page templates go through the real command line (`check --format markdown`, `annex`, `aiact` with
`--templates DIR`), hostile clause templates through `annex --templates DIR` and hostile rule messages through
`check --rules DIR`. The runs that could loop run in a subprocess with a timeout, so a hang fails the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError

from policy.sandbox import MAX_DEPTH, MAX_RANGE, Sandbox, TemplateLimitError

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "examples" / "cards"
CARD = CARDS / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
COMMON = ("--offline", "--cards", CARDS, "--today", "2026-12-01")

# Each page template override: the command that renders it, and the template's path under --templates DIR.
PAGES = {
    "report": (("check", CARD, "--format", "markdown"), "report/report.md.j2"),
    "annex": (("annex", CARD), "annex/annex.md.j2"),
    "aiact": (("aiact", CARD), "aiact/aiact.md.j2"),
}
# Hostile template text (on line 2 of the template), and what the error must say.
HOSTILE = {
    "internals": ("{{ ''.__class__.__mro__ }}", "the sandbox forbids"),
    "mutation": ("{% set d = {'a': 1} %}{{ d.update({'b': 2}) }}{{ d.clear() }}", "the sandbox forbids"),
    "range": ("{% for i in range(10**6) %}{% endfor %}", "range() of more than 10,000 items"),
    "recursion": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "calls nested more than"),
    "nested-loops": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                     "range() of more than"),
    "steps": ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
              "ran over its budget of"),
    "runtime": ("{{ 1 // 0 }}", "the template failed while rendering (ZeroDivisionError)"),
    "syntax": ("{% for x in %}", "template syntax error"),
}
# exception texts that must not reach the user (they can quote data)
LEAKS = ("Traceback", "'str' object", "'dict' object", "division", "internal error")


def _cli(*args: Any, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """policycheck in a subprocess: a template that hangs fails the test at `timeout` instead of hanging it."""
    return subprocess.run([sys.executable, "-m", "policy.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=os.environ.copy(), stdin=subprocess.DEVNULL)


def _env(**options: Any) -> Sandbox:
    return Sandbox(undefined=StrictUndefined, **options)


# -- the sandbox ------------------------------------------------------------------------------------------------

def test_range_is_capped() -> None:
    assert _env().from_string("{{ range(3)|list }}").render() == "[0, 1, 2]"
    assert len(_env().from_string("{% for i in range(n) %}x{% endfor %}").render(n=MAX_RANGE)) == MAX_RANGE
    with pytest.raises(TemplateLimitError, match="range"):
        _env().from_string("{{ range(n)|list }}").render(n=MAX_RANGE + 1)


def test_nested_loops_end_on_the_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYCHECK_TEMPLATE_STEPS", "1000")
    nest = "{% for a in s %}{% for b in s %}{% for c in s %}{% for d in s %}.{% endfor %}{% endfor %}{% endfor %}" \
           "{% endfor %}"
    with pytest.raises(TemplateLimitError, match="budget of 1,000 steps"):
        _env().from_string(nest).render(s="0123456789")  # a string literal: no range() to cap


def test_the_budget_grows_with_the_data_a_template_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """Going over its data once always fits (a batch of any size renders); a loop nest over it does not."""
    monkeypatch.setenv("POLICYCHECK_TEMPLATE_STEPS", "1000")
    rows = [{"id": f"m{i}"} for i in range(5000)]
    once = _env().from_string("{% for r in rows %}{{ r.id }} {% endfor %}").render(rows=rows)
    assert once.count("m") == 5000
    with pytest.raises(TemplateLimitError, match="budget"):
        _env().from_string("{% for r in rows %}{% for q in rows %}{% endfor %}{% endfor %}").render(rows=rows)


def test_the_time_budget_stops_a_render(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYCHECK_TEMPLATE_SECONDS", "1e-9")  # over at the first look at the clock
    with pytest.raises(TemplateLimitError, match="time budget"):
        _env().from_string("{% for i in range(5000) %}{{ i }}{% endfor %}").render()


def test_policycheck_own_templates_render_without_the_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYCHECK_TEMPLATE_STEPS", "10")
    env = _env(budgeted=False)
    assert env.from_string("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}ok")\
        .render() == "ok"
    assert "".join(env.from_string("{% for i in range(100) %}.{% endfor %}").generate()) == "." * 100


def test_a_generated_render_keeps_one_budget_across_its_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYCHECK_TEMPLATE_STEPS", "100")
    chunks = _env().from_string("{% for i in range(60) %}{{ i }}{% endfor %}{% for i in range(60) %}{{ i }}"
                                "{% endfor %}").generate()
    with pytest.raises(TemplateLimitError):
        for _ in chunks:
            pass


def test_recursion_stops_at_a_depth_not_at_the_interpreter_limit() -> None:
    with pytest.raises(TemplateLimitError, match=f"more than {MAX_DEPTH} deep"):
        _env().from_string("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").render()
    tree = {"name": "a", "children": [{"name": "b", "children": [{"name": "c", "children": []}]}]}
    recursive = "{% for n in [t] recursive %}{{ n.name }}{{ loop(n.children) }}{% endfor %}"
    assert _env().from_string(recursive).render(t=tree) == "abc"


def test_contexts_are_immutable_and_not_shared() -> None:
    facts = {"model": {"id": "acme/m"}, "tags": ["a"]}
    for source in ("{{ model.update({'id': 'x'}) }}", "{{ tags.append('b') }}", "{{ tags.pop() }}"):
        with pytest.raises(SecurityError):
            _env().from_string(source).render(**facts)
    assert facts == {"model": {"id": "acme/m"}, "tags": ["a"]}
    template = _env().from_string("{% set n = (n or 0) + 1 %}{{ n }}")
    assert [template.render(n=None), template.render(n=None)] == ["1", "1"]


@pytest.mark.parametrize("source", [
    "{{ 'x' * 10**9 }}", "{{ [1] * 10**9 }}", "{{ 2 ** 100000000 }}", "{{ '%99999d' % 1 }}",
    "{{ '%*d'|format(99999, 1) }}", "{{ '{:>99999}'.format(1) }}", "{{ '{:{}}'.format(1, 99999) }}",
    "{{ 'x'|center(10**9) }}", "{{ 'a\nb'|indent(10**9) }}",
])
def test_sizes_are_capped(source: str) -> None:
    with pytest.raises(TemplateLimitError):
        _env().from_string(source).render()


def test_ordinary_templates_are_unchanged() -> None:
    source = ("{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ 7 % 3 }} {{ '%5d|%s' % (1, 'x') }} {{ '{:>4}'.format(7) }} "
              "{{ 'v %d'|format(100000) }} {{ 'ab'|center(6) }}{% for x in 'abc' if x != 'b' %}{{ loop.index }}"
              "{{ x }}{% else %}none{% endfor %}{% for x in [] %}{% else %} empty{% endfor %}")
    assert _env().from_string(source).render() == "ababab 1024 1     1|x    7 v 100000   ab  1a2c empty"


# -- the command line ---------------------------------------------------------------------------------------------

def _page(tmp_path: Path, page: str, source: str) -> tuple[Path, tuple[Any, ...]]:
    args, name = PAGES[page]
    template = tmp_path / "templates" / name
    template.parent.mkdir(parents=True)
    template.write_text(f"# {page}\n{source}\n", encoding="utf-8")
    return template, (*args, *COMMON, "--templates", tmp_path / "templates")


def _assert_template_error(code: int, err: str, file: Path | str, line: int, says: str) -> None:
    assert code == 2, err
    assert f"{file}:{line}:" in err and says in err, err
    for leak in LEAKS:
        assert leak not in err, err


@pytest.mark.parametrize("kind", [k for k in HOSTILE if k not in ("nested-loops", "steps")])
@pytest.mark.parametrize("page", PAGES)
def test_a_hostile_page_template_is_a_positioned_configuration_error(run_cli: Any, tmp_path: Path, page: str,
                                                                     kind: str) -> None:
    source, says = HOSTILE[kind]
    template, args = _page(tmp_path, page, source)
    result = run_cli(*args)
    _assert_template_error(result.code, result.err, template, 2, says)
    assert result.out == ""


@pytest.mark.parametrize("kind", ["nested-loops", "steps"])
@pytest.mark.parametrize("page", PAGES)
def test_a_page_template_that_loops_ends_with_an_error(tmp_path: Path, page: str, kind: str) -> None:
    source, says = HOSTILE[kind]
    template, args = _page(tmp_path, page, source)
    result = _cli(*args)
    _assert_template_error(result.returncode, result.stderr, template, 2, says)


def test_a_hostile_clause_template_is_an_error_at_its_line_in_the_clause_file(tmp_path: Path) -> None:
    shipped = (ROOT / "templates" / "clauses" / "audit.md").read_text(encoding="utf-8")
    front, _, _ = shipped.partition("\n---\n")
    clause = tmp_path / "clauses" / "audit.md"
    clause.parent.mkdir()
    clause.write_text(f"{front}\n---\nThe Recipient keeps records.\n\n{HOSTILE['steps'][0]}\n", encoding="utf-8")
    line = clause.read_text(encoding="utf-8").splitlines().index(HOSTILE["steps"][0]) + 1
    result = _cli("annex", CARD, *COMMON, "--templates", tmp_path)
    _assert_template_error(result.returncode, result.stderr, clause, line, "ran over its budget")
    assert "clause 'audit'" in result.stderr


PACK = """\
schema: policycheck/pack/v1
id: hostile
version: "1.0.0"
title: hostile messages
rules:
  - id: hostile-message
    title: A rule whose message misbehaves
    severity: warning
    kind: violation
    for_each: model
    when: {model.id: {exists: true}}
    message: "MESSAGE"
    references:
      - {section: "x", source: "y"}
"""


@pytest.mark.parametrize("kind", ["mutation", "range", "recursion", "steps"])
def test_a_hostile_rule_message_is_an_error_at_its_rule(tmp_path: Path, kind: str) -> None:
    source, says = HOSTILE[kind]
    pack = tmp_path / "rules" / "hostile.yaml"
    pack.parent.mkdir()
    pack.write_text(PACK.replace("MESSAGE", source), encoding="utf-8")
    # validated, then (once) from the rule cache: the rule's line is known both times
    for _ in range(2 if kind == "mutation" else 1):
        result = _cli("check", CARD, *COMMON, "--rules", pack.parent, "--format", "json")
        _assert_template_error(result.returncode, result.stderr, pack, 6, says)
        assert "rule hostile-message" in result.stderr and result.stdout == ""


def test_a_rule_message_that_fails_on_the_facts_names_only_the_kind_of_error(run_cli: Any, tmp_path: Path) -> None:
    """A message that fails on the facts it meets stays a finding (the rule did fire), without the exception's
    text: `'dict object' has no attribute ...` can quote a card's values."""
    pack = tmp_path / "rules" / "missing.yaml"
    pack.parent.mkdir()
    pack.write_text(PACK.replace("MESSAGE", "{{ model.card['no-such-key'] }}"), encoding="utf-8")
    result = run_cli("check", CARD, *COMMON, "--rules", pack.parent, "--format", "json")
    [finding] = [f for f in result.json()["findings"] if f["rule"] == "hostile-message"]
    assert finding["message"].endswith("the message could not be rendered: UndefinedError)")
    assert "no-such-key" not in finding["message"]
