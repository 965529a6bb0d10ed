"""Rule packs: every shipped test case passes, every rule has positive and negative cases, and broken packs
are reported with file:line:col and a code frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy.diagnostics import format_diagnostic
from policy.engine.loader import load_bundle
from policy.engine.rules import lint_tests
from policy.engine.ruletest import run_case
from policy.errors import ConfigError


def _cases() -> list[Any]:
    bundle = load_bundle()
    return [pytest.param(rule.id, i, id=f"{rule.id}:{case['name']}")
            for pack in bundle.packs for rule in pack.rules for i, case in enumerate(rule.tests)]


@pytest.mark.parametrize(("rule_id", "index"), _cases())
def test_pack_case(bundle: Any, rule_id: str, index: int) -> None:
    pack = next(p for p in bundle.packs if any(r.id == rule_id for r in p.rules))
    rule = next(r for r in pack.rules if r.id == rule_id)
    result = run_case(rule, pack, rule.tests[index], bundle.catalog)
    assert result.ok, result


def test_every_rule_has_positive_and_negative_cases(bundle: Any) -> None:
    for pack in bundle.packs:
        assert lint_tests(pack, None) == []


def test_a_case_that_expects_too_much_fails(bundle: Any) -> None:
    pack = bundle.packs[0]
    rule = next(r for r in pack.rules if r.id == "license-missing")
    case = {"name": "wrong", "model": {"id": "a/b", "license": "mit"}, "expect": [{"rule": "license-missing"}]}
    result = run_case(rule, pack, case, bundle.catalog)
    assert not result.ok and result.missing == ({"rule": "license-missing"},)


BROKEN_PACK = """\
schema: policycheck/pack/v1
id: broken
version: "1.0.0"
rules:
  - id: bad-rule
    title: Bad
    severity: fatal
    message: "{{ model.id }}"
    references: [{source: x}]
    kind: violation
  - id: bad-path
    title: Bad path
    severity: error
    when: {model.licence.id: mit}
    message: "{{ modle.id }}"
    references: [{source: x}]
    kind: violation
"""


def test_broken_pack_reports_every_problem_with_position(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN_PACK)
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    diags = {(d.code, d.line) for d in info.value.diagnostics}
    assert ("schema", 7) in diags  # severity: fatal
    text = "\n".join(format_diagnostic(d) for d in info.value.diagnostics)
    assert f"{tmp_path / 'broken.yaml'}:7:15: error[schema]" in text
    assert "allowed values: error, warning, note" in text
    assert " 7 |     severity: fatal" in text


def test_semantic_errors_after_a_clean_schema(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN_PACK.replace("severity: fatal", "severity: error"))
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    by_code = {d.code: d for d in info.value.diagnostics}
    assert "did you mean 'model.license'" in by_code["rule-condition"].help
    assert by_code["rule-condition"].line == 14
    assert "modle" in by_code["rule-template"].message and by_code["rule-template"].line == 15


def test_duplicate_keys_and_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("schema: policycheck/pack/v1\nid: a\nid: b\nversion: '1.0.0'\nrules: []\n")
    (tmp_path / "b.yaml").write_text("schema: policycheck/pack/v1\nid: [b\n")
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    located = {(Path(d.file).name, d.code, d.line) for d in info.value.diagnostics}
    assert ("a.yaml", "duplicate-key", 3) in located
    assert any(name == "b.yaml" and code == "yaml-syntax" for name, code, _ in located)


def test_extra_rules_dir_adds_licenses_and_curations(tmp_path: Path) -> None:
    (tmp_path / "acme-model-license.yaml").write_text(
        "schema: policycheck/license/v1\nid: acme-model-license\nname: ACME Model License\n"
        "categories: [model-license, non-commercial]\nstatus: verified\nprofile: full\naliases: [acme-ml]\n"
        "clauses:\n  - type: non-commercial\n    applies_to: [self, weights]\n"
        "    citation: {section: '§2', quote: 'for non-commercial purposes only', source: 'ACME LICENSE', grade: V}\n")
    bundle = load_bundle([tmp_path], use_cache=False)
    assert bundle.catalog.lookup("acme-ml") == "acme-model-license"


def test_catalog_file_name_must_match_id(tmp_path: Path) -> None:
    (tmp_path / "wrong-name.yaml").write_text(
        "schema: policycheck/license/v1\nid: acme\nname: ACME\ncategories: []\nstatus: unverified\n"
        "profile: identity\n")
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    assert [d.code for d in info.value.diagnostics] == ["license-file-name"]


def test_cache_is_used_and_invalidated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYCHECK_CACHE", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    rules.mkdir()
    lic = rules / "acme.yaml"
    lic.write_text("schema: policycheck/license/v1\nid: acme\nname: ACME\ncategories: []\nstatus: unverified\n"
                   "profile: identity\n")
    assert load_bundle([rules]).catalog.get("acme").name == "ACME"
    assert len(list((tmp_path / "cache").glob("rules-*.json"))) == 1
    lic.write_text(lic.read_text().replace("name: ACME", "name: ACME Two") + "\n")
    assert load_bundle([rules]).catalog.get("acme").name == "ACME Two"
