"""`policycheck fingerprint`: a reference-fingerprint entry for a Hub repo's weight files."""

from __future__ import annotations

from policy.errors import InputError, UsageError
from policy.evidence.collect import family_of, reference_fingerprints
from policy.evidence.fingerprints import is_fingerprinted
from policy.model.facts import GATED, OK
from policy.scan.ids import repo_id_problem


def fingerprint_entry(repo: str, revision: str | None) -> str:
    """`policycheck fingerprint`: one `fingerprints:` entry (YAML) for the repo's weight files."""
    import json

    from policy.scan.hub import HubOptions, HubSource

    problem = repo_id_problem(repo)
    if problem:
        raise UsageError(f"{repo}: not a Hub repo id: {problem}")
    hub = HubSource(HubOptions.from_env())
    try:
        facts = hub.fetch_one(repo, "model", revision)
        if facts.status not in (OK, GATED) or not facts.revision:
            raise InputError(f"{repo}: {facts.status_detail or facts.status}")
        hashes = hub.file_hashes(repo, facts.revision, is_fingerprinted)
    finally:
        hub.close()
    if not hashes:
        raise InputError(f"{repo}@{facts.revision[:12]}: no weight or tokenizer file in the Hub's listing")
    license_ = facts.license.display() if facts.license.present else ""
    lines = [f"  - repo: {json.dumps(repo)}", f"    revision: {facts.revision}",
             f"    license: {json.dumps(license_)}",
             f"    family: {json.dumps(family_of(repo, reference_fingerprints()))}  # llama, qwen, ...: for tokenizers",
             f"    source: {json.dumps(f'{hub.endpoint.rstrip(chr(47))}/{repo}/tree/{facts.revision}')}",
             "    files:"]
    for path, sha in sorted(hashes.items()):
        digest = f"git_oid: {sha[4:]}" if sha.startswith("git:") else f"sha256: {sha}"
        lines.append(f"      - {{path: {json.dumps(path)}, {digest}}}")
    return "\n".join(lines) + "\n"


