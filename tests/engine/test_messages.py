"""Rule messages rendered without the template engine (`policy.engine.messages`) are the text the sandboxed Jinja
environment gives, for every shipped template on every context the rule tests and the fixture cards produce, and
for hostile or unusual templates and values; whatever is not plain goes to Jinja (errors included)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import policy.engine.evaluation as evaluation
from policy.engine import messages
from policy.engine.ruletest import run_pack_tests
from policy.model.policyfile import Policy, policy_from_dict
from policy.scan.lineage import build_lineage
from policy.scan.local import LocalSource, read_target
from policy.templating import render as jinja_render

CARDS = Path(__file__).resolve().parents[1] / "fixtures" / "cards"


def outcome(render: Any, source: str, ctx: Any) -> tuple[str, str]:
    try:
        return "text", render(source, ctx)
    except Exception as exc:
        return type(exc).__name__, str(exc)


def same(source: str, ctx: Any) -> None:
    assert outcome(messages.render, source, ctx) == outcome(jinja_render, source, ctx), source


def test_every_shipped_message_on_every_context_the_rules_meet(bundle: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def recording(source: str, ctx: dict[str, Any]) -> str:
        seen.append((source, ctx))
        return messages.render(source, ctx)

    monkeypatch.setattr(evaluation, "render", recording)
    assert all(r.ok for r in run_pack_tests(bundle.packs, bundle.catalog))
    source = LocalSource([CARDS])
    strict = policy_from_dict({"schema": "policycheck/policy/v1", "use": {"commercial": True},
                               "licenses": {"allow": ["mit"], "deny": ["llama3.1"]}, "licensee": {"region": "DE"},
                               "requirements": {"independent_evaluation": "warning", "lineage_disclosure": "error"}},
                              None, bundle.catalog.lookup)
    for card in sorted(CARDS.glob("*.md")):
        lineage = build_lineage(read_target(str(card)), source, bundle.catalog, (bundle.curations,))
        for policy in (Policy(), strict):
            evaluation.evaluate(lineage, bundle.packs, bundle.catalog, policy, dt.date(2026, 6, 1))
    templated = {s for s, _ in seen}
    plain = {s for s in templated if messages._compile(s) is not None}
    assert len(seen) > 300
    assert plain == templated, "a shipped message needs the template engine"  # every one is in the plain subset
    for source, ctx in seen:
        same(source, ctx)


HOSTILE = "{{ 7*7 }} {% if x %}{# #}"


@pytest.mark.parametrize("source", [
    "{{ model.id }} from {{ ancestor.id }} ({{ ancestor.via | via }})",
    "{{ ancestor.license.name or clause.license }}; {{ ancestor.license.name or 'licensed' }}",
    "{{ clause.accepts | join(' or ') }} / {{ clause.accepts|join(\", \") }} / {{ model.id | join('-') }}",
    "{% if waiver.ancestor %} (ancestor {{ waiver.ancestor }}){% endif %} expired",
    "{% if model.missing %}a{% else %}b {{ model.id }}{% endif %}",
    "{% if model.flag %}{% if model.id %}nested {{ model.id }}{% endif %}{% endif %}",
    "{{ model.items }} {{ model.keys }} {{ model.get }}",  # dict methods in the sandbox, never keys
    "{{ model.nope }}", "{{ nope }}", "{{ model.id.nope }}", "{{ model.list.0 }}", "{{ model['id'] }}",
    "{{ model.none }} {{ none }} {{ true }}", "{{ 'lit' }} {{ \"lit\" }}", "{{ '}}' }}", "{{ 'a' ~ 'b' }}",
    "{{ model.id|upper }}", "{{ model.id | first }}", "{{ model.id if model.id else 'x' }}",
    "{{- model.id }}", "{{ model.id -}}", "{%- if model.id %}x{% endif %}", "{% if model.id -%}x{% endif %}",
    "{# a comment #}{{ model.id }}", "{% raw %}{{ model.id }}{% endraw %}",
    "{% for x in model.list %}{{ x }}{% endfor %}", "{% if model.id %}unclosed", "{% endif %}", "{% if %}x{% endif %}",
    "{% else %}", "{% if model.id is defined %}x{% endif %}",
    "{% if not model.flag %}x{% endif %}", "{% if 'lit' %}x{% endif %}", "{% if model.id or model.flag %}x{% endif %}",
    "{{ model.id", "a {{ b", "{% if x", "{# open", "}} and %} are text", "{{}}", "{{ }}", "{{ model. }}", "{{ .id }}",
    "{{ model.id or }}", "{{ or model.id }}", "{{ model.via | via | via }}", "{{ model.list | join }}",
    "{{ model.list | join(', ', attribute='x') }}", "{{ model.id | join(1) }}", "{{ 'a\\nb' }}", "{{ 'é €' }}",
    "{{ model.none_value }} {{ model.none_value or 'fallback' }} {{ model.zero or model.empty or model.false }}",
    "{{ model.text }}", "{{ model.number }} {{ model.float }} {{ model.list }} {{ model.nested }}",
    "{{ model.ints | join(', ') }} {{ model.ints | via }}", "{{ model.via | via }} {{ model.empty | via }}",
    "{{ model.proxy.id }}", "{{ model.nested.items }}", "{{ model.nested.a }}", "{{ model.unprintable }}",
    "  spaced\n\tout  {{ model.id }}\r\n  ", "{{ model.id }}{{ model.id }}", "{{model.id}}", HOSTILE,
    # comparisons, membership, tests, calls, filters and loops of the plain subset, and their edges
    "{% if model.id == 'acme/m' %}eq{% elif model.flag %}flag{% else %}ne{% endif %}",
    "{% if model.flag %}a{% elif model.zero %}b{% elif model.id != 'x' %}c{% endif %}",
    "{% if model.nested.a == 1 %}one{% endif %} {{ model.number == 3 }} {{ model.id != model.id }}",
    "{{ 'a' in model.list }} {{ 'z' not in model.list }} {{ model.id in ['hub', 'cache'] }}",
    "{% if model.source not in ['hub', 'cache'] %}x{% endif %}", "{{ 'a' in model.number }}",
    "{{ model.a == model.b == model.c }}", "{{ model.number < 4 }}", "{{ model.number >= 3 }}",
    "{% if model.card.teacher_model is not defined and model.nested.a is defined %}d{% endif %}",
    "{{ model.nested.zz is defined }} {{ model.nested.a is not defined }} {{ nope is defined }}",
    "{{ model.nope.zz is defined }} {{ model.text.zz is defined }} {{ model is defined }}",
    "{{ model.id | first is defined }} {{ model.nested is number }} {{ 'x' is defined }}",
    "{{ model.nested.get('a') }} {{ model.nested.get('zz') }} {{ model.text.get('a') }} {{ model.nested.get(a) }}",
    "{{ model.nested.get('a', 2) }} {{ model.nested.get }} {{ model.nested.get('a').x }}",
    "{{ model.list | first }} {{ model.empty | first }} {{ model.text | first }} {{ model.list | first() }}",
    "{{ model.text | trim('<>') }} {{ '..a..' | trim('.') }} {{ '  a  ' | trim }} {{ model.list | trim('[') }}",
    "{{ model.list | join(', ') | trim('a') }} {{ model.via | via | trim('(') }}",
    "{{ 'yes' if model.flag else 'no' }} {{ 'yes' if model.id }}",
    "{{ model.id if model.x else 'y' if model.z else 'w' }} {{ model.id if model.flag else 'y' if model.id else 'w' }}",
    "{{ model.list | join(' or ') if model.nested.get('a') else 'shared' }}",
    "{{ not model.flag }} {{ not not model.id }} {{ model.flag and model.id }} {{ model.id and model.zero or 'z' }}",
    "{{ model.flag or model.zero and model.id }} {{ not model.flag or model.zero }}",
    "{% for x in model.list %}{{ x }}{{ ', ' if not loop.last else '' }}{% endfor %}",
    "{% for x in model.list %}{{ loop.index }}/{{ loop.length }}:{{ loop.first }}{% else %}none{% endfor %}",
    "{% for x in model.empty %}{{ x }}{% else %}none{% endfor %} {% for x in model.nested %}{{ x }}{% endfor %}",
    "{% for x in model.text %}{{ x }}{% endfor %}", "{% for x in model.list %}{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for x in model.list %}{{ loop.previtem }}{% endfor %}", "{% for loop in model.list %}{{ loop }}{% endfor %}",
    "{% for a, b in model.list %}{{ a }}{% endfor %}", "{% for x in model.list if x %}{{ x }}{% endfor %}",
    "{% for x in model.list %}{% for y in model.ints %}{{ x }}{{ y }}{{ loop.last }}{% endfor %}{% endfor %}",
    "{% for x in model.list %}{{ x }}{% endif %}", "{% for x in model.list %}{{ x }}", "{% endfor %}",
    "{% for t in model.dicts %}{{ t.name }} {{ t.section }}{{ '; ' if not loop.last else '' }}{% endfor %}",
    "{% for t in model.dicts %}{{ t.nope }}{% endfor %}", "{% for x in %}{% endfor %}", "{% elif x %}",
    "{% if model.flag %}a{% elif %}b{% endif %}", "{% if model.flag %}a{% else %}b{% elif x %}c{% endif %}",
    "{{ ['a', 'b'] }} {{ [] }} {{ ['a' }} {{ ['a', model.id] }} {{ 'a' 'b' }} {{ model.id == }}",
])
def test_templates_and_values_render_as_jinja_renders_them(source: str) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no text")

    from types import MappingProxyType

    ctx = {"model": {"id": "acme/m {{ 7*7 }} {% if %}", "flag": False, "items": "an items key",
                     "keys": "k", "get": "g", "none_value": None, "zero": 0, "empty": [], "false": False,
                     "text": "<b>é</b>\u202e", "number": 3, "float": 1.5, "list": ["a", "b"], "ints": [1, 2],
                     "nested": {"a": 1, "items": 2},
                     "dicts": [{"name": "Llama 3.1", "section": "§2"}, {"name": "Qwen", "section": "§4"}],
                     "via": ["finetune", "quantized"], "proxy": MappingProxyType({"id": "p"}),
                     "unprintable": Unprintable()},
           "ancestor": {"id": "org/base", "via": ["distillation"], "license": {"name": None}},
           "clause": {"license": "llama3.1", "accepts": ["llama3.1", "llama3.2"]},
           "waiver": {"ancestor": None}, "x": True}
    same(source, ctx)
    same(source, {})  # every name missing


def test_plain_templates_do_not_import_the_template_engine() -> None:
    program = messages._compile("{{ model.id }} ({{ ancestor.via | via }}){% if a.b %} {{ a.b }}{% endif %}")
    assert program is not None
    out: list[str] = []
    messages._run(program, {"model": {"id": "m"}, "ancestor": {"via": []}, "a": {"b": "x"}}, out, [100])
    assert "".join(out) == "m ((direct)) x"
    assert messages._compile("{{ model.id | upper }}") is None


@pytest.mark.parametrize(("source", "expected"), [
    ("{% if t.fact == 'mau' %}m{% elif t.fact != 'x' %}n{% else %}o{% endif %}", "m"),
    ("{% for t in all %}{{ t.name }} {{ t.section }}{{ '; ' if not loop.last else '' }}{% endfor %}.",
     "Llama §2; Qwen §4."),
    ("{% if source not in ['hub', 'cache'] and card.teacher is not defined %}offline{% endif %}", "offline"),
    ("{{ params.get('scope') }} {{ params.get('none') }} {{ accepts | first }} {{ ob | trim('.') }}",
     "llm None mit duty"),
    ("{{ accepts | join(' or ') if params.get('scope') == 'llm' else 'shared' }}", "mit or apache-2.0"),
])
def test_the_plain_subset_renders_without_the_template_engine(source: str, expected: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import policy.templating

    def refuse(source: str, ctx: Any) -> str:
        raise AssertionError("rendered by the template engine")

    monkeypatch.setattr(policy.templating, "render", refuse)
    ctx = {"t": {"fact": "mau"}, "all": [{"name": "Llama", "section": "§2"}, {"name": "Qwen", "section": "§4"}],
           "source": "file", "card": {}, "params": {"scope": "llm"}, "accepts": ["mit", "apache-2.0"],
           "ob": "duty."}
    assert messages._compile(source) is not None
    assert messages.render(source, ctx) == expected == jinja_render(source, ctx)


def test_a_nest_of_loops_over_long_lists_goes_to_the_sandbox_and_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile rule pack's message cannot spin here: past MAX_PLAIN_STEPS the sandbox renders it, whose step
    budget stops it with its positioned error."""
    import policy.templating

    source = "{% for a in x %}{% for b in x %}{% for c in x %}.{% endfor %}{% endfor %}{% endfor %}"
    calls: list[str] = []

    def sandbox(src: str, ctx: Any) -> str:
        calls.append(src)
        raise RuntimeError("over budget")

    monkeypatch.setattr(policy.templating, "render", sandbox)
    assert messages._compile(source) is not None
    with pytest.raises(RuntimeError):
        messages.render(source, {"x": list(range(100))})  # 10^6 steps: too many to run here
    assert calls == [source]
    assert messages.render(source, {"x": [1, 2]}) == "........"  # a short nest stays plain


@pytest.mark.parametrize("source", [
    "{% for x in xs %}{% if loop.previtem is defined %}, {% endif %}{{ x }}{% endfor %}",
    "{% for x in xs %}{{ loop.nextitem }}{{ loop.depth }}{% endfor %}", "{% for x in xs %}{{ loop }}{% endfor %}",
    "{% for x in xs %}{{ 'last' in loop }}{% endfor %}", "{% for x in xs %}{{ loop.get('index') }}{% endfor %}",
    "{% for x in xs %}{% if loop is defined %}d{% endif %}{% endfor %}",
    "{% if 'a' if y else '' %}Y{% endif %}", "{% for x in xs if y else e %}{{ x }}{% endfor %}",
    "{{ x is defined not in ['a'] }}", "{{ x is defined if y else z }}", "{{ x is defined and y }}",
    "{% for x in ['a  b'] %}{% if x == 'a  b' %}Y{% else %}N{% endif %}{% endfor %}",
    "{% for x in xs %}{{ loop.index }}/{{ loop.revindex0 }}{% endfor %}",
])
def test_what_jinja_reads_otherwise_goes_to_jinja(source: str) -> None:
    """Found by review: Jinja's loop is more than its counters, a tag takes no conditional expression, a test
    reads a following value as its argument, and a loop's items are read as written."""
    same(source, {"xs": ["a", "b", "c"], "x": "a", "y": True, "z": "z", "e": []})


def test_the_step_budget_counts_every_iteration(monkeypatch: pytest.MonkeyPatch) -> None:
    import policy.templating

    calls: list[str] = []
    monkeypatch.setattr(policy.templating, "render", lambda src, ctx: calls.append(src) or "sandbox")
    source = "{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}done"  # empty bodies: no text steps
    assert messages.render(source, {"xs": list(range(3000))}) == "sandbox" and calls == [source]
