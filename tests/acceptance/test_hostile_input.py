"""Hostile input is bounded (issue 7): alias bombs, value errors, deep nesting, wide parent lists, bad encodings,
catastrophic regexes, template escapes, a writable rule cache and repo ids with a trailing newline.

Every hostile input is a fixture under tests/fixtures/hostile/ (the 50,000-parent card is generated: 1 MB).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from policy.engine.conditions import MAX_MATCH_LENGTH, OPERATORS, compile_regex
from policy.engine.loader import load_bundle, load_policy
from policy.errors import ConfigError, InputError
from policy.model.facts import INVALID, UNAVAILABLE, ModelFacts
from policy.scan.cards import MAX_PARENTS, as_id_list, declared_license, parse_card
from policy.scan.ids import looks_like_repo_id, repo_id_problem
from policy.scan.lineage import build_lineage
from policy.scan.local import LocalSource
from policy.templating import check_template
from policy.yamlload import MAX_DEPTH, load_fast, load_marked

HOSTILE = Path(__file__).parents[1] / "fixtures" / "hostile"
ROOT = Path(__file__).resolve().parents[2]


def read(name: str) -> str:
    return (HOSTILE / name).read_text(encoding="utf-8")


def card_error(name: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse_card(read(name), name)
    return info.value


def cards_dir(tmp_path: Path, fixture: str, model_id: str = "org/bad") -> Path:
    folder = tmp_path / "cards"
    folder.mkdir(exist_ok=True)
    shutil.copy(HOSTILE / fixture, folder / f"{model_id.replace('/', '__')}.md")
    return folder


# --- 1. alias bombs --------------------------------------------------------------------------------------

BOMB_SCRIPT = textwrap.dedent("""
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GB of address space
    sys.path.insert(0, sys.argv[2])
    from policy.scan.cards import parse_card
    from policy.errors import InputError
    text = open(sys.argv[1], encoding="utf-8").read()
    start = time.perf_counter()
    try:
        parse_card(text, "bomb.md")
        outcome = "parsed"
    except InputError as exc:
        outcome = exc.message
    print(f"{time.perf_counter() - start:.4f}")
    print(outcome)
""")


def test_alias_bomb_card_fails_fast_under_a_memory_cap() -> None:
    assert (HOSTILE / "alias_bomb.md").stat().st_size < 500
    proc = subprocess.run([sys.executable, "-c", BOMB_SCRIPT, str(HOSTILE / "alias_bomb.md"), str(ROOT)],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    elapsed, outcome = proc.stdout.splitlines()[:2]
    assert float(elapsed) < 2  # a hang guard (it took 82 s), not a speed measurement
    assert outcome.startswith("bomb.md:6:") and "aliases expand to more than" in outcome


def test_alias_bomb_as_an_ancestor_in_cards_dir_is_an_invalid_node(tmp_path: Path) -> None:
    source = LocalSource([cards_dir(tmp_path, "alias_bomb.md")])
    start = time.perf_counter()
    node = source.fetch_one("org/bad", "model")
    assert time.perf_counter() - start < 2  # a hang guard, not a speed measurement
    assert node.status == INVALID and "alias" in node.status_detail


def test_alias_count_and_recursive_aliases_are_capped() -> None:
    err = card_error("alias_count.md")
    assert "more than 100 aliases" in err.message and err.diagnostics[0].line == 3
    err = card_error("alias_recursive.md")
    assert "recursive" in err.message and err.diagnostics[0].line == 3


def test_policy_file_alias_bomb_is_a_config_error(tmp_path: Path, bundle: Any) -> None:
    with pytest.raises(ConfigError) as info:
        load_policy(HOSTILE / "policy_bomb.yaml", bundle.catalog, bundle.packs)
    assert "aliases expand" in info.value.message and info.value.diagnostics[0].line > 0


def test_non_scalar_values_are_notes_and_never_text() -> None:
    card = parse_card(read("wrong_shapes.md"), "wrong_shapes.md")
    codes = [(n.code, n.line) for n in card.notes]
    assert ("non-string-value", 2) in codes  # license: {...}
    assert ("non-string-value", 3) in codes  # license_name: [...]
    assert ("non-string-value", 4) in codes  # license_link: {...}
    assert ("non-string-value", 5) in codes  # tags: nested items
    assert ("non-string-value", 7) in codes  # teacher_model: 300 characters
    lic = declared_license(card.fields)
    assert (lic.values, lic.name, lic.link) == ((), None, None)
    assert card.fields["tags"] == ["gguf"]
    assert as_id_list(card.fields["base_model"]) == ["org/base", "org/other"]
    assert "teacher_model" not in card.fields


def test_shared_structures_from_the_hub_api_are_never_expanded() -> None:
    # The Hub API's card data does not go through parse_card: the typed accessors must not str() it either.
    level: Any = ["lol"] * 9
    for _ in range(9):
        level = [level] * 9  # 9**10 leaves if expanded
    fields = {"license": level, "license_name": {"x": level}, "license_link": level, "base_model": level}
    start = time.perf_counter()
    lic = declared_license(fields)
    ids = as_id_list(fields["base_model"])
    assert time.perf_counter() - start < 1  # bounded: the expansion would take hours
    assert (lic.values, lic.name, lic.link, ids) == ((), None, None, [])


# --- 2. YAML value errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["value_bad_date.md", "value_big_int.md", "value_bad_float.md",
                                     "value_bad_bool.md", "value_bad_timestamp.md"])
def test_value_errors_in_a_card_are_positioned_input_errors(fixture: str, tmp_path: Path) -> None:
    err = card_error(fixture)
    (diag,) = err.diagnostics
    assert (diag.file, diag.line, diag.code) == (fixture, 3, "yaml-value") and diag.col > 1
    assert err.message.startswith(f"{fixture}:3:") and "cannot read this value" in err.message
    node = LocalSource([cards_dir(tmp_path, fixture)]).fetch_one("org/bad", "model")
    assert node.status == INVALID and ":3:" in node.status_detail


def test_value_error_in_a_policy_file_is_a_positioned_config_error(bundle: Any) -> None:
    with pytest.raises(ConfigError) as info:
        load_policy(HOSTILE / "policy_bad_date.yaml", bundle.catalog, bundle.packs)
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.col) == (7, 14) and "2024-02-30" in diag.message


def test_value_error_in_rule_data_is_a_positioned_config_error(tmp_path: Path) -> None:
    shutil.copy(HOSTILE / "license_bad_float.yaml", tmp_path / "acme.yaml")
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    located = [(Path(d.file).name, d.line, d.code) for d in info.value.diagnostics]
    assert ("acme.yaml", 6, "yaml-value") in located


def test_both_loaders_raise_only_yaml_errors() -> None:
    import yaml

    for text in ("a: !!float c", "a: !!bool maybe", "a: !!timestamp x", "a: 2024-02-30", "a: " + "1" * 4301):
        for load in (load_fast, lambda t: load_marked(t, "f")):
            with pytest.raises(yaml.YAMLError):
                load(text)


# --- 3. deep nesting and encodings ------------------------------------------------------------------------

def test_deeply_nested_base_model_is_an_input_error() -> None:
    err = card_error("deep_base_model.md")
    assert f"nested more than {MAX_DEPTH} levels" in err.message
    assert (err.diagnostics[0].line, err.diagnostics[0].code) == (3, "yaml-limit")


def test_deeply_nested_policy_is_a_config_error(bundle: Any) -> None:
    with pytest.raises(ConfigError) as info:
        load_policy(HOSTILE / "policy_deep.yaml", bundle.catalog, bundle.packs)
    assert "nested more than" in info.value.message and info.value.diagnostics[0].line == 5


def test_non_utf8_policy_file_is_a_config_error(bundle: Any) -> None:
    with pytest.raises(ConfigError) as info:
        load_policy(HOSTILE / "policy_latin1.yaml", bundle.catalog, bundle.packs)
    (diag,) = info.value.diagnostics
    assert (diag.code, diag.line, diag.col) == ("encoding", 3, 6)


def test_non_utf8_rule_file_is_a_config_error(tmp_path: Path) -> None:
    shutil.copy(HOSTILE / "license_latin1.yaml", tmp_path / "acme.yaml")
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    assert [(d.code, d.line, d.col) for d in info.value.diagnostics] == [("encoding", 3, 10)]


def test_over_long_ids_in_rule_data_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text("schema: policycheck/license/v1\nid: " + "a" * 300 + "\nname: A\n"
                                        "categories: []\nstatus: unverified\nprofile: identity\n")
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    assert [(d.code, d.line) for d in info.value.diagnostics] == [("too-long", 2)]


# --- 4. wide parent lists ---------------------------------------------------------------------------------

class _Unavailable:
    def __init__(self) -> None:
        self.asked = 0

    def fetch_many(self, keys: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], ModelFacts]:
        self.asked += len(keys)
        return {(mid, kind): ModelFacts(id=mid, kind=kind, status=UNAVAILABLE) for mid, kind in keys}


def test_wide_parent_list_is_capped_and_says_so(bundle: Any) -> None:
    card = parse_card(read("wide_bases.md"), "wide_bases.md")
    assert [(n.code, n.line) for n in card.notes] == [("too-many-parents", 3)]
    assert len(as_id_list(card.fields["base_model"])) == MAX_PARENTS
    subject = ModelFacts(id="org/wide", card=card.fields, license=declared_license(card.fields))
    source = _Unavailable()
    lineage = build_lineage(subject, source, bundle.catalog, [])
    assert source.asked == MAX_PARENTS
    (problem,) = [p for p in lineage.problems if p.code == "too-many-parents"]
    assert "1000 base_model entries" in problem.message


def test_fifty_thousand_parents_are_linear(tmp_path: Path) -> None:
    text = "---\nbase_model:\n" + "".join(f"  - org/m{i % 25000}\n" for i in range(50_000)) + "---\n"
    start = time.perf_counter()
    card = parse_card(text, "wide.md")
    ids = as_id_list(card.fields["base_model"], limit=None)
    capped = as_id_list(card.fields["base_model"])
    assert time.perf_counter() - start < 5  # was 22.6 s (quadratic de-duplication)
    assert (len(ids), len(capped)) == (25_000, MAX_PARENTS)


# --- 5. regexes -------------------------------------------------------------------------------------------

def test_matches_is_linear_time_with_fullmatch_semantics() -> None:
    pattern, problem = compile_regex("(a+)+$")
    assert problem == ""
    matches = OPERATORS["matches"]
    start = time.perf_counter()
    assert not matches("a" * 32 + "!", pattern)  # 37 s with backtracking
    assert matches("a" * 32, pattern)
    assert time.perf_counter() - start < 2  # a hang guard, not a speed measurement
    llama, _ = compile_regex("Llama.*")
    assert matches("Llama-3", llama) and not matches("xLlama-3", llama)
    abc, _ = compile_regex("abc")
    assert not matches("abcd", abc) and matches("abc", abc)
    anything, _ = compile_regex(".*")
    assert not matches("a" * (MAX_MATCH_LENGTH + 1), anything)


def test_catastrophic_pattern_in_a_pack_loads_and_runs_fast(tmp_path: Path) -> None:
    shutil.copy(HOSTILE / "pack_redos.yaml", tmp_path / "pack.yaml")
    bundle = load_bundle([tmp_path], use_cache=False)
    rule = next(r for p in bundle.packs for r in p.rules if r.id == "redos")
    start = time.perf_counter()
    assert rule.when is not None and not rule.when.test({"model": {"name": "a" * 32 + "!"}})
    assert time.perf_counter() - start < 2  # a hang guard, not a speed measurement


def pack_diagnostic(tmp_path: Path, fixture: str, code: str) -> Any:
    """The one diagnostic of `code` that loading the hostile pack `fixture` gives."""
    shutil.copy(HOSTILE / fixture, tmp_path / "pack.yaml")
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    (diag,) = [d for d in info.value.diagnostics if d.code == code]
    return diag


def test_pattern_re2_cannot_compile_is_a_positioned_rule_error(tmp_path: Path) -> None:
    diag = pack_diagnostic(tmp_path, "pack_bad_regex.yaml", "rule-condition")
    assert diag.line == 9 and "invalid regular expression" in diag.message


# --- 6. templates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "{{ model.__class__ }}", "{{ model['__globals__'] }}", "{{ model.mro() }}", "{{ ''.__class__.__mro__ }}",
    "{{ model|attr('__class__') }}", "{{ model['_' ~ '_class__'] }}", "{{ model._private }}",
])
def test_templates_reaching_python_internals_are_rejected(source: str) -> None:
    problem = check_template(source, ["model"])
    assert problem is not None and "Python internals" in problem


def test_ordinary_templates_pass() -> None:
    assert check_template("{{ model.id }} {{ model.license.name }} {{ model.card['license'] }}", ["model"]) is None


def test_template_escape_in_a_pack_is_rejected_at_load(tmp_path: Path) -> None:
    diag = pack_diagnostic(tmp_path, "pack_template_internals.yaml", "rule-template")
    assert diag.line == 10 and "Python internals" in diag.message


# --- 7. all passes at once --------------------------------------------------------------------------------

def test_schema_and_semantic_errors_of_one_pack_come_out_together(tmp_path: Path) -> None:
    shutil.copy(HOSTILE / "pack_all_passes.yaml", tmp_path / "pack.yaml")
    with pytest.raises(ConfigError) as info:
        load_bundle([tmp_path], use_cache=False)
    located = {(d.code, d.line) for d in info.value.diagnostics}
    assert ("schema", 7) in located  # severity: fatal (rule 1)
    assert ("rule-condition", 16) in located  # unknown field model.licence (rule 2)


def test_policy_schema_and_semantic_errors_come_out_together(tmp_path: Path, bundle: Any) -> None:
    policy = tmp_path / "policycheck.yaml"
    policy.write_text("schema: policycheck/policy/v1\nlicenses:\n  deny: [no-such-license]\nwaivers:\n"
                      "  - rule: license-missing\n    model: org/x\n    reason: nope\n    justification: j\n"
                      "    approved_by: me\n    expires: 2030-01-01\n")
    with pytest.raises(ConfigError) as info:
        load_policy(policy, bundle.catalog, bundle.packs)
    codes = {(d.code, d.line) for d in info.value.diagnostics}
    assert ("unknown-license", 3) in codes and ("schema", 7) in codes


# --- 8. the rule cache cannot run code --------------------------------------------------------------------

def _rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "acme.yaml").write_text("schema: policycheck/license/v1\nid: acme\nname: ACME\ncategories: []\n"
                                     "status: unverified\nprofile: identity\n")
    return rules


class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_cache_is_json_and_a_pickle_in_its_place_is_never_run(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLICYCHECK_CACHE", str(cache))
    rules = _rules(tmp_path)
    assert load_bundle([rules]).catalog.get("acme").name == "ACME"
    (cache_file,) = cache.glob("rules-*")
    assert cache_file.suffix == ".json"
    assert json.loads(cache_file.read_text())["format"] == "policycheck/rules-cache/v2"
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Boom(marker))
    cache_file.write_bytes(payload)
    cache_file.with_suffix(".pickle").write_bytes(payload)  # where the old cache lived
    assert load_bundle([rules]).catalog.get("acme").name == "ACME"
    assert not marker.exists()
    assert json.loads(cache_file.read_text())["format"] == "policycheck/rules-cache/v2"  # rebuilt


def test_tampered_cache_is_ignored_and_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policy.engine.loader import _docs_digest

    cache = tmp_path / "cache"
    monkeypatch.setenv("POLICYCHECK_CACHE", str(cache))
    rules = _rules(tmp_path)
    load_bundle([rules])
    (cache_file,) = cache.glob("rules-*.json")
    payload = json.loads(cache_file.read_text())
    for doc in payload["docs"]:
        if doc["data"].get("id") == "acme":
            doc["data"]["name"] = "TAMPERED"
    cache_file.write_text(json.dumps(payload))  # digest no longer matches
    assert load_bundle([rules]).catalog.get("acme").name == "ACME"
    payload["digest"] = _docs_digest(payload["docs"])
    payload["version"] = "0.0.0-other"  # a digest that matches, from another version
    cache_file.write_text(json.dumps(payload))
    assert load_bundle([rules]).catalog.get("acme").name == "ACME"
    payload["version"] = json.loads(cache_file.read_text())["version"]
    payload["docs"][0]["kind"] = "code"  # shape check
    payload["digest"] = _docs_digest(payload["docs"])
    cache_file.write_text(json.dumps(payload))
    assert load_bundle([rules]).catalog.get("acme").name == "ACME"


# --- 9. repo ids ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["org/x\n", "org/x\r\n", "\norg/x", "org/x ", "org/x\x00", "org/x/y"])
def test_repo_ids_are_matched_as_a_whole(bad: str) -> None:
    assert not looks_like_repo_id(bad)
    assert repo_id_problem(bad) is not None


def test_valid_repo_ids_still_pass() -> None:
    assert looks_like_repo_id("org/x") and looks_like_repo_id("gpt2") and looks_like_repo_id("a.b/c_d-1")


# --- 10. tabs and control characters ----------------------------------------------------------------------

def test_valid_yaml_with_tabs_is_not_rewritten() -> None:
    card = parse_card(read("tabs_valid.md"), "tabs_valid.md")
    assert card.notes == ()
    assert card.fields["description"] == "code:\n\tindented with a tab"


def test_invalid_tab_indentation_is_repaired_and_noted() -> None:
    card = parse_card(read("tabs_invalid.md"), "tabs_invalid.md")
    assert [(n.code, n.line) for n in card.notes] == [("tabs-in-yaml", 4)]
    assert as_id_list(card.fields["base_model"]) == ["org/x"]


def test_control_character_error_has_a_position() -> None:
    err = card_error("control_char.md")
    (diag,) = err.diagnostics
    assert (diag.line, diag.col) == (3, 18) and "U+0007" in diag.message


def test_non_utf8_card_is_a_positioned_input_error() -> None:
    from policy.scan.cards import decode_card

    with pytest.raises(InputError) as info:
        decode_card("---\nlicense: mit\nlicense_name: caf\xe9\n---\n".encode("latin-1"), "card.md")
    (diag,) = info.value.diagnostics
    assert (diag.code, diag.line, diag.col) == ("encoding", 3, 18)
    assert decode_card(b"---\nlicense: mit\n---\n", "card.md").startswith("---")


def test_hub_card_data_gets_the_same_shape_checks() -> None:
    from policy.scan.cards import check_card_fields

    fields, notes = check_card_fields({"license": {"a": 1}, "base_model": ["org/x", ["org/y"]], "extra": [1]})
    assert fields == {"base_model": ["org/x"], "extra": [1]}
    assert [n.code for n in notes] == ["non-string-value", "non-string-value"]


def test_hostile_cards_as_hub_ancestors_are_input_problems_of_those_cards(hubsim: Any,
                                                                         hub_env: dict[str, str]) -> None:
    from tests.hubsim import make_card

    # The emulator derives cardData with PyYAML (which these cards break); the Hub's own parser gives no usable
    # cardData for them, so state it: policycheck still reads each README and must judge it.
    for repo, fixture in (("acme/bomb", "alias_bomb.md"), ("acme/bad-date", "value_bad_date.md"),
                          ("acme/deep", "deep_base_model.md")):
        hubsim.add_model(repo, {"README.md": read(fixture)}, card_data={})
    hubsim.add_model("acme/child", {"README.md": make_card(
        {"license": "mit", "base_model": ["acme/bomb", "acme/bad-date", "acme/deep"]})})
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "policy.cli", "check", "acme/child", "--format", "json"],
                          env={**hub_env, "POLICYCHECK_HUB_ATTEMPTS": "1"}, capture_output=True, text=True,
                          timeout=120, check=False)
    assert time.perf_counter() - start < 60
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    unresolved = {f["ancestor"]: f["message"] for f in report["findings"] if f["rule"] == "ancestor-unresolved"}
    assert "aliases expand" in unresolved["acme/bomb"]
    assert "README.md:3:" in unresolved["acme/bad-date"] and "cannot read this value" in unresolved["acme/bad-date"]
    assert "nested more than" in unresolved["acme/deep"]
