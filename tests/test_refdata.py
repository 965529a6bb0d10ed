"""Reference data read one way (policy/refdata.py): benchmarks, model names, fingerprints and the AI Act data are
validated against their schemas, a bad file is exit 2 with `file:line:col` (it was an internal error, exit 4), and
each file is read once per process and parsed once across processes."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policy import refdata
from policy.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "cards"
CARD = EXAMPLES / "deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md"
CHECK = ("check", CARD, "--offline", "--cards", EXAMPLES, "--today", "2026-12-01")
AIACT = ("aiact", CARD, "--offline", "--cards", EXAMPLES, "--today", "2026-12-01")


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped rules/ that policycheck reads as its own (the reference data cannot be replaced
    with --rules, except fingerprints)."""
    import policy.resources

    copy = tmp_path / "rules"
    shutil.copytree(policy.resources.rules_dir(), copy)
    monkeypatch.setattr(policy.resources, "rules_dir", lambda: copy)
    return copy


def _break(path: Path, old: str, new: str) -> tuple[int, int]:
    """Replace the first `old` in `path` by `new`; the 1-based line and column where `new` starts."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def _assert_positioned(result: Any, path: Path, line: int, col: int, message: str) -> None:
    assert result.code == 2, (result.code, result.err)
    assert "internal error" not in result.err and "Traceback" not in result.err
    first = result.err.splitlines()[0]
    assert first.startswith(f"policycheck: {path}:{line}:{col}: "), first
    assert message in first, first
    assert f"{path}:{line}:{col}: error[" in result.err  # the diagnostic, with its code frame
    assert re.search(rf"^ +{line} \| ", result.err, re.M)


def test_a_bad_benchmarks_file_is_a_positioned_config_error(run_cli: Callable[..., Any], rules: Path) -> None:
    path = rules / "evidence" / "benchmarks.yaml"
    line, col = _break(path, "scale: percent", "scale: percentage")
    _assert_positioned(run_cli(*CHECK), path, line, col + len("scale: "), "benchmarks/0/scale")


def test_a_benchmark_alias_listed_twice_is_placed_at_the_alias(run_cli: Callable[..., Any], rules: Path) -> None:
    path = rules / "evidence" / "benchmarks.yaml"
    line, col = _break(path, "aliases: [GPQA Diamond,", "aliases: [GSM8K,")
    _assert_positioned(run_cli(*CHECK), path, line, col + len("aliases: ["), "names both gsm8k and gpqa_diamond")


def test_a_bad_model_names_file_is_a_positioned_config_error(run_cli: Callable[..., Any], rules: Path) -> None:
    path = rules / "evidence" / "model_names.yaml"
    line, col = _break(path, "    kind: model\n", "    kind: modle\n")
    _assert_positioned(run_cli(*CHECK), path, line, col + len("    kind: "), "kind")


def test_a_model_name_listed_twice_is_placed_at_the_name(run_cli: Callable[..., Any], rules: Path) -> None:
    path = rules / "evidence" / "model_names.yaml"
    line, col = _break(path, '"DeepSeek-R1-0528"', '"DeepSeek R1"')
    _assert_positioned(run_cli(*CHECK), path, line, col, "is listed for both")


def test_a_model_name_entry_without_an_https_source_is_placed_at_the_entry(run_cli: Callable[..., Any],
                                                                          rules: Path) -> None:
    path = rules / "evidence" / "model_names.yaml"
    shipped = path.read_text(encoding="utf-8")
    source = "    source: https://huggingface.co/deepseek-ai/DeepSeek-R1-0528\n"
    _break(path, source, "")
    entry = shipped.count("\n", 0, shipped.index("  - id: deepseek-ai/DeepSeek-R1-0528\n")) + 1
    _assert_positioned(run_cli(*CHECK), path, entry, 5, "'source' is a required property")
    path.write_text(shipped, encoding="utf-8")
    line, col = _break(path, "source: https://huggingface.co/deepseek-ai/DeepSeek-R1-0528",
                       "source: http://huggingface.co/deepseek-ai/DeepSeek-R1-0528")
    _assert_positioned(run_cli(*CHECK), path, line, col + len("source: "), "models/1/source")
    path.write_text(shipped, encoding="utf-8")  # an https page, but not this model's: the builder places it
    line, col = _break(path, "source: https://huggingface.co/deepseek-ai/DeepSeek-R1-0528",
                       "source: https://huggingface.co/deepseek-ai/DeepSeek-R1")
    _assert_positioned(run_cli(*CHECK), path, line, col + len("source: "), "is their Hub page")


def test_a_model_names_file_that_is_not_yaml_is_a_positioned_config_error(run_cli: Callable[..., Any],
                                                                           rules: Path) -> None:
    path = rules / "evidence" / "model_names.yaml"
    line, _ = _break(path, "family: deepseek", "family: [deepseek")
    result = run_cli(*CHECK)
    assert result.code == 2 and "invalid YAML" in result.err.splitlines()[0], result.err
    assert result.err.startswith(f"policycheck: {path}:{line}:"), result.err


def test_a_bad_ai_act_file_is_a_positioned_config_error(run_cli: Callable[..., Any], rules: Path) -> None:
    path = rules / "aiact" / "gpai.yaml"
    line, col = _break(path, "    verified: true\n", "    verified: yes please\n")
    _assert_positioned(run_cli(*AIACT), path, line, col + len("    verified: "), "is not of type 'boolean'")


def test_an_ai_act_quote_over_25_words_is_placed_at_the_quote(run_cli: Callable[..., Any], rules: Path) -> None:
    path = rules / "aiact" / "gpai.yaml"
    text = path.read_text(encoding="utf-8")
    quote = re.search(r'quote: "([^"]+)"', text)
    assert quote is not None
    line, col = _break(path, quote.group(0), 'quote: "' + " ".join(["word"] * 26) + '"')
    _assert_positioned(run_cli(*AIACT), path, line, col + len("quote: "), "25 words at most")


def test_bad_fingerprints_in_a_rules_folder_are_a_positioned_config_error(run_cli: Callable[..., Any],
                                                                          tmp_path: Path) -> None:
    extra = tmp_path / "mine"
    (extra / "evidence").mkdir(parents=True)
    path = extra / "evidence" / "fingerprints.yaml"
    path.write_text("schema_version: 1\nfingerprints:\n  - repo: acme/base\n    source: https://example.invalid/x\n"
                    "    files:\n      - {path: model.safetensors, sha256: not-a-hash}\n", encoding="utf-8")
    result = run_cli(*CHECK, "--rules", extra)
    _assert_positioned(result, path, 6, 43, "fingerprints/0/files/0/sha256")


# -- read once ------------------------------------------------------------------------------------------------
def test_each_file_is_read_once_per_process(run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    refdata.clear_cache()
    reads: list[str] = []
    real = refdata._read_cache

    def counted(key: str) -> Any:
        reads.append(key)
        return real(key)

    monkeypatch.setattr(refdata, "_read_cache", counted)
    for _ in range(2):
        assert run_cli(*CHECK).code in (0, 1, 3)
        assert run_cli(*AIACT).code in (0, 1, 3)
        assert run_cli("claims", CARD, "--offline").code in (0, 1, 3)
    assert len(reads) == len(set(reads)) == 4  # benchmarks, model names, fingerprints, AI Act: once each


def test_a_new_process_reads_the_validated_cache_and_a_changed_file_again(rules: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from policy.evidence.claims import load_benchmarks

    refdata.clear_cache()
    first = load_benchmarks()
    refdata.clear_cache()  # as a new process: the YAML is not parsed again, nor validated

    def no_parsing(kind: str, name: str) -> Any:
        raise AssertionError(f"{name} parsed again")

    with monkeypatch.context() as m:
        m.setattr(refdata, "_read", no_parsing)
        assert load_benchmarks().items == first.items
    path = rules / "evidence" / "benchmarks.yaml"
    _break(path, "scale: percent", "scale: percentage")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(ConfigError, match="benchmarks/0/scale"):
        load_benchmarks()


def test_a_tampered_cache_is_ignored(rules: Path) -> None:
    from policy.evidence.prose import default_names

    refdata.clear_cache()
    expected = default_names().models
    refdata.clear_cache()
    for cached in refdata.cache_dir().glob("ref-*.json"):
        cached.write_text(cached.read_text(encoding="utf-8").replace("deepseek", "evil"), encoding="utf-8")
    assert default_names().models == expected


def test_data_parsed_elsewhere_is_checked_the_same_way() -> None:
    with pytest.raises(ConfigError) as info:
        refdata.check("model_names", {"schema_version": 1, "models": [{"family": "x", "names": []}]})
    messages = [d.message for d in info.value.diagnostics]
    assert any("models/0" in m for m in messages), messages
    assert all(d.line == 0 for d in info.value.diagnostics)  # no positions to give: none invented


def test_the_shipped_files_are_valid() -> None:
    from policy.documents.aiact import load_data
    from policy.evidence.claims import load_benchmarks
    from policy.evidence.collect import reference_fingerprints
    from policy.evidence.prose import default_names

    assert len(load_benchmarks().items) >= 10 and len(default_names().models) >= 50
    assert len(load_data().items) >= 50 and len(reference_fingerprints()) >= 0
    from policy.evidence.licensefiles import default_texts

    assert len(default_texts()) >= 60
    assert set(refdata.KINDS) == {"benchmarks", "model_names", "fingerprints", "aiact", "license_texts"}
    for kind in refdata.KINDS.values():
        assert (ROOT / "rules" / "schema" / f"{kind.schema}.json").is_file()
