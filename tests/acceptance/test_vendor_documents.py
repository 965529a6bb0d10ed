"""In-house counsel vets a vendor's model through the real client: a Llama 3.1 fine-tune labelled MIT (its base
gated), trained on a dataset the Hub answers 404 for with no error code (the client's generic HTTP error, whose
text quotes the request URL). Every document format must read as a document: the verdict in a plain sentence,
the gated base's license said to be read, the failure in words, and no URL, exception or token anywhere."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hubsim import HubSim, make_card

REPO = Path(__file__).resolve().parents[2]
TODAY = "2026-12-01"
# the emulated Hub is http://127.0.0.1:PORT (a citation's pinned source, https://github.com/..., is a document's link)
TECHNICAL = re.compile(r"http://|/api/|HfHub|HTTPError|Error:|Traceback|<url>|127\.0\.0\.1|hf_[A-Za-z0-9]{8}|expand=")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy.cli", *args], env={**env, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=180, cwd=REPO)


@pytest.fixture
def vendor(hubsim: HubSim, hub_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    hubsim.add_model("meta-llama/Llama-3.1-8B-Instruct",
                     {"README.md": make_card({"license": "llama3.1", "pipeline_tag": "text-generation"},
                                             "# Llama 3.1\n")}, gated="manual")
    hubsim.add_model("acme/support-8b", {"README.md": make_card(
        {"license": "mit", "base_model": "meta-llama/Llama-3.1-8B-Instruct", "datasets": ["acme/custom"],
         "pipeline_tag": "text-generation"}, "# Support 8B\n\nA fine-tune for customer support.\n")})
    hubsim.faults.status(404, path=r"/api/datasets/acme/custom")  # no X-Error-Code: the client's generic error
    return {**hub_env, "POLICYCHECK_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1",
            "HF_TOKEN": "hf_SECRETSECRETSECRET"}


def _documents(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for fmt in ("text", "markdown", "html", "sarif"):
        done = cli(env, "check", "acme/support-8b", "--format", fmt, "--today", TODAY)
        assert done.returncode == 1, done.stderr
        out[fmt] = done.stdout
    for side in ("markdown", "docx"):
        path = tmp_path / f"annex.{side}"
        done = cli(env, "annex", "acme/support-8b", "--today", TODAY, "--format", side, "--output", str(path))
        assert done.returncode in (0, 1, 3), done.stderr
        out[f"annex-{side}"] = path.read_text(encoding="utf-8") if side == "markdown" else _docx_text(path)
    done = cli(env, "aiact", "acme/support-8b", "--today", TODAY)
    assert done.returncode in (0, 1, 3), done.stderr
    out["aiact"] = done.stdout
    return out


def _docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _sarif_messages(text: str) -> str:
    doc = json.loads(text)
    return "\n".join(r["message"]["text"] for run in doc["runs"] for r in run["results"])


def test_documents_read_as_documents(vendor: dict[str, str], tmp_path: Path) -> None:
    docs = _documents(vendor, tmp_path)
    docs["sarif"] = _sarif_messages(docs["sarif"])
    for fmt, text in docs.items():
        shown = text if fmt != "html" else re.sub(r'(?:href|src|xmlns)="[^"]*"', "", text)  # links and namespaces
        leaks = sorted(set(TECHNICAL.findall(shown)))
        assert leaks == [], f"{fmt}: {leaks}"
    # the failure in words a lawyer reads
    for fmt in ("text", "markdown", "html"):
        plain = html.unescape(docs[fmt]).replace("\\", "")  # as a reader sees it (no HTML or Markdown escapes)
        assert "dataset 'acme/custom' is not on the Hub, or is private" in " ".join(plain.split()), fmt
    # the verdict in a sentence, from the decisive finding
    sentence = ("Labelled MIT, but a fine-tune of meta-llama/Llama-3.1-8B-Instruct under the Llama 3.1 Community "
                "License Agreement: not cleared for distribution")
    assert sentence in docs["markdown"] and sentence in " ".join(docs["text"].split())
    assert "at or above the fail-on severity" not in docs["markdown"] + docs["html"]
    # the gated base: its license was read, its card was not
    assert "license read from the Hub API; card not readable (gated)" in docs["markdown"].replace("\\", "")


def test_the_json_keeps_the_technical_detail_apart(vendor: dict[str, str]) -> None:
    done = cli(vendor, "check", "acme/support-8b", "--format", "json", "--today", TODAY)
    doc: dict[str, Any] = json.loads(done.stdout)
    node = next(e for e in doc["evaluated"] if e["id"] == "acme/custom")
    assert node["detail"] == "dataset 'acme/custom' is not on the Hub, or is private"
    assert node["technical"].startswith("HfHubHTTPError") and "404" in node["technical"]
    assert "http" not in node["technical"] and "SECRET" not in json.dumps(doc)  # no URL, no token even here
    decisive = next(f for f in doc["findings"] if f["kind"] == "violation")
    assert (decisive["rule"], decisive["clause"], decisive["citation"]["grade"]) == (
        "derivative-drops-license-terms", "license-copy", "V")


def test_the_buyers_annex_binds_the_vendor(vendor: dict[str, str], tmp_path: Path) -> None:
    """Counsel for the buyer: the recipient's side, through the real client. The provider warrants Part A, cures
    each open finding before delivery (each named, with its cure), and indemnifies against upstream claims."""
    out = tmp_path / "buyer.md"
    done = cli(vendor, "annex", "acme/support-8b", "--today", TODAY, "--side", "recipient", "--provider", "Acme AI",
               "--recipient", "Buyer GmbH", "--output", str(out))
    assert done.returncode == 1, done.stderr
    text = out.read_text(encoding="utf-8")
    assert not TECHNICAL.findall(text)
    titles = [line for line in text.splitlines() if line.startswith("### ")]
    for title in ("The Provider's warranties on licences, lineage and evaluation", "Findings to be cured before "
                  "delivery", "Indemnity against upstream licensors' claims", "The Recipient's remedies"):
        assert any(title in t for t in titles), title
    assert not any("No unauthorised distillation" in t or "audit" in t.lower() for t in titles)
    cure = text[text.index("Findings to be cured before delivery"):]
    cure = cure[:cure.index("\n### ")]
    doc = json.loads(cli(vendor, "check", "acme/support-8b", "--format", "json", "--today", TODAY).stdout)
    to_cure = {f["rule"] for f in doc["findings"] if f["status"] == "open" and f["severity"] != "note"}
    assert to_cure >= {"derivative-drops-license-terms", "name-prefix-missing", "ancestor-unresolved"}
    for rule in to_cure:
        assert f"Finding {rule};" in cure, rule  # each open finding, named, with its cure
    part_a = text[text.index("## Part A."):text.index("## Part B.")]
    assert ("Llama 3.1 Community License Agreement for the material of meta-llama/Llama-3.1-8B-Instruct; MIT License "
            "for the Provider's own modifications, if any") in part_a
    assert "Acme AI" in text and "Buyer GmbH" in text and "not legal advice" in text.lower()
