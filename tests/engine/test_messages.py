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
    assert len(seen) > 300 and len(plain) > 20 and plain != templated  # both paths were exercised
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
])
def test_templates_and_values_render_as_jinja_renders_them(source: str) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no text")

    from types import MappingProxyType

    ctx = {"model": {"id": "acme/m {{ 7*7 }} {% if %}", "flag": False, "items": "an items key",
                     "keys": "k", "get": "g", "none_value": None, "zero": 0, "empty": [], "false": False,
                     "text": "<b>é</b>\u202e", "number": 3, "float": 1.5, "list": ["a", "b"], "ints": [1, 2],
                     "nested": {"a": 1, "items": 2}, "via": ["finetune", "quantized"], "proxy": MappingProxyType(
                         {"id": "p"}), "unprintable": Unprintable()},
           "ancestor": {"id": "org/base", "via": ["distillation"], "license": {"name": None}},
           "clause": {"license": "llama3.1", "accepts": ["llama3.1", "llama3.2"]},
           "waiver": {"ancestor": None}, "x": True}
    same(source, ctx)
    same(source, {})  # every name missing


def test_plain_templates_do_not_import_the_template_engine() -> None:
    program = messages._compile("{{ model.id }} ({{ ancestor.via | via }}){% if a.b %} {{ a.b }}{% endif %}")
    assert program is not None
    out: list[str] = []
    messages._run(program, {"model": {"id": "m"}, "ancestor": {"via": []}, "a": {"b": "x"}}, out)
    assert "".join(out) == "m ((direct)) x"
    assert messages._compile("{{ model.id | upper }}") is None
