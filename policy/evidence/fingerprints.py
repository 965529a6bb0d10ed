"""Weights that are byte-identical to another repo's: the sha256 of LFS weight files (from the Hub's file
listing, no weights downloaded) against reference fingerprints with their sources (`rules/evidence/
fingerprints.yaml`, and `evidence/fingerprints.yaml` in a `--rules` folder). Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from policy.model.evidence import Evidence
from policy.records import record

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".msgpack")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tiktoken.model", "vocab.json", "merges.txt")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_OID = re.compile(r"[0-9a-f]{40}")
MAX_ENTRIES = 100_000
MAX_TEXT = 200  # longest text of a file's own metadata quoted in a message


@record
class Fingerprint:
    """The digest of a file of a reference model (weights, tokenizer) and the model's license."""
    repo: str
    path: str
    sha256: str  # the sha256 of an LFS file, or git:<blob id> of a regular one
    license: str
    revision: str
    source: str
    family: str = ""  # the model family the repo belongs to (llama, qwen, ...), for tokenizer files


class Fingerprints:
    def __init__(self, items: Iterable[Fingerprint]) -> None:
        self.by_sha: dict[str, list[Fingerprint]] = {}
        for fp in items:
            self.by_sha.setdefault(fp.sha256, []).append(fp)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_sha.values())

    def find(self, sha256: str) -> list[Fingerprint]:
        return self.by_sha.get(sha256.lower(), [])


def load_fingerprints(docs: Iterable[tuple[str, Any]]) -> Fingerprints:
    """From parsed data files, (file name, document). A malformed entry raises ValueError naming the file."""
    items: list[Fingerprint] = []
    for name, doc in docs:
        if not isinstance(doc, Mapping) or doc.get("schema_version") != 1:
            raise ValueError(f"{name}: expected `schema_version: 1` and `fingerprints:`")
        for i, entry in enumerate(doc.get("fingerprints") or ()):
            where = f"{name}: fingerprints[{i}]"
            if not isinstance(entry, Mapping) or not all(isinstance(entry.get(k), str) for k in ("repo", "source")):
                raise ValueError(f"{where}: needs `repo` and `source` (where the hashes were read)")
            for j, f in enumerate(entry.get("files") or ()):
                sha = f.get("sha256") if isinstance(f, Mapping) else None
                oid = f.get("git_oid") if isinstance(f, Mapping) else None
                if isinstance(oid, str) and _GIT_OID.fullmatch(oid.lower()) and not sha:
                    sha = f"git:{oid.lower()}"
                elif not isinstance(sha, str) or not _SHA256.fullmatch(sha.lower()):
                    sha = None
                if sha is None or not isinstance(f.get("path"), str):
                    raise ValueError(f"{where}.files[{j}]: needs `path` and a 64-hex `sha256` (LFS) or a 40-hex "
                                     "`git_oid`")
                items.append(Fingerprint(entry["repo"], f["path"], sha.lower(), str(entry.get("license") or ""),
                                         str(entry.get("revision") or ""), entry["source"],
                                         str(entry.get("family") or "").lower()))
                if len(items) > MAX_ENTRIES:
                    raise ValueError(f"{name}: more than {MAX_ENTRIES} fingerprints")
    return Fingerprints(items)


def is_weight_file(path: str) -> bool:
    return path.lower().endswith(WEIGHT_SUFFIXES)


def is_tokenizer_file(path: str) -> bool:
    return path.rsplit("/", 1)[-1].lower() in TOKENIZER_FILES


def is_fingerprinted(path: str) -> bool:
    return is_weight_file(path) or is_tokenizer_file(path)


def tokenizer_evidence(subject: str, hashes: Mapping[str, str], base_families: Mapping[str, str],
                       fingerprints: Fingerprints) -> list[Evidence]:
    """`tokenizer-of-another-family` when a tokenizer file of the model is byte-identical to one of a known
    family's reference repos while every declared base is of another family (`base_families`: declared base
    id -> family, for the bases whose family is known). Medium confidence: families share tokenizers."""
    if not base_families:
        return []
    declared = {f.lower() for f in base_families.values()}
    out = []
    for path, sha in sorted(hashes.items()):
        if not is_tokenizer_file(path):
            continue
        for fp in fingerprints.find(sha):
            if fp.family and fp.family not in declared:
                bases = ", ".join(f"{b} ({f})" for b, f in sorted(base_families.items()))
                out.append(Evidence(
                    code="tokenizer-of-another-family",
                    message=(f"{subject}'s {path} is identical to the {fp.family} tokenizer of {fp.repo}, but its "
                             f"declared base is of another family: {bases}."),
                    method="file-fingerprint", confidence="medium",
                    source=f"the Hub's file listing of {subject}; reference {fp.source}", subject=subject,
                    refers_to=fp.repo, data={"file": path, "hash": sha, "family": fp.family,
                                             "declared_families": sorted(declared)}))
                return out  # one is enough: the tokenizer says which family
    return out


def fingerprint_evidence(subject: str, declared_license: str, parents: Sequence[str],
                         hashes: Mapping[str, str], fingerprints: Fingerprints) -> list[Evidence]:
    """`weights-identical` for each other repo whose reference weight file has the sha256 of one of the
    subject's (`hashes`: path -> sha256 of its LFS weight files), unless the subject declares that repo as a
    parent (a declared re-upload is the license rules' business)."""
    declared = {p.lower() for p in parents}
    found: dict[str, tuple[Fingerprint, str, str]] = {}
    for path, sha in sorted(hashes.items()):
        if not is_weight_file(path):
            continue  # identical tokenizers are common within a family: tokenizer_evidence judges them
        for fp in fingerprints.find(sha):
            if fp.repo.lower() == subject.lower() or fp.repo.lower() in declared or fp.repo in found:
                continue
            found[fp.repo] = (fp, path, sha)
    out = []
    for repo, (fp, path, sha) in found.items():
        lic = f", licensed {fp.license}" if fp.license else ""
        out.append(Evidence(
            code="weights-identical",
            message=(f"{subject}'s {path} is byte-identical (sha256 {sha[:12]}…) to {repo}'s {fp.path}{lic}, but "
                     f"{subject} declares {declared_license or 'no license'} and does not name {repo} as its base."),
            method="file-fingerprint", confidence="high",
            source=f"the Hub's file listing of {subject}; reference {fp.source}", subject=subject,
            refers_to=repo, data={"file": path, "sha256": sha, "reference_file": fp.path,
                                  "reference_revision": fp.revision, "reference_license": fp.license}))
    return out


def gguf_evidence(subject: str, filename: str, header_license: str | None, header_bases: Sequence[str],
                  card_license: Sequence[str], parents: Sequence[str],
                  lookup: Callable[[str], str | None]) -> list[Evidence]:
    """`gguf-header-mismatch` when a GGUF file's own metadata (`general.license`, `general.base_model.*`, read
    from its header) says another license or another base than the card. `lookup` maps a license text to a
    catalog id (None when unknown: then only an exact, case-insensitive difference counts)."""
    out: list[Evidence] = []
    header_license = header_license[:MAX_TEXT] if header_license else header_license  # a header is hostile
    header_bases = [b[:MAX_TEXT] for b in header_bases[:MAX_TEXT]]
    if header_license and card_license:
        mine = {lookup(v) or v.strip().lower() for v in card_license}
        theirs = lookup(header_license) or header_license.strip().lower()
        if theirs not in mine and theirs not in ("other", "unknown", ""):
            out.append(Evidence(
                code="gguf-header-mismatch",
                message=(f"{subject}'s {filename} says general.license '{header_license}' in its header, but the "
                         f"card declares {', '.join(card_license)}."),
                method="gguf-header", confidence="high", source=f"the header of {filename} (range read)",
                subject=subject, data={"file": filename, "header_license": header_license,
                                       "card_license": list(card_license)}))
    declared = {p.lower() for p in parents}
    for base in header_bases:
        if base.lower() not in declared and base.lower() != subject.lower():
            out.append(Evidence(
                code="gguf-header-mismatch",
                message=f"{subject}'s {filename} names {base} as its base model in its header, which the card "
                        "does not declare.",
                method="gguf-header", confidence="high", source=f"the header of {filename} (range read)",
                subject=subject, refers_to=base, data={"file": filename, "header_base": base}))
    return out


def gguf_unread_evidence(subject: str, filename: str, reason: str, pairs_read: int | None) -> Evidence:
    """`gguf-header-incomplete`: a GGUF file's header could not be read whole (the parser refused a pair, it is
    larger than the read limit, the Hub did not serve it in time). Its license and base model were checked only
    in the `pairs_read` pairs before that point, so the file's own declaration is not known in full."""
    reason = reason.removeprefix(f"{filename} of {subject}: ")[:MAX_TEXT]
    read = ("nothing in it could be checked" if not pairs_read
            else "the metadata pair before that point was read and checked" if pairs_read == 1
            else f"the {pairs_read} metadata pairs before that point were read and checked")
    return Evidence(
        code="gguf-header-incomplete",
        message=f"{subject}'s {filename}: its GGUF header could not be read whole ({reason}); {read}.",
        method="gguf-header", confidence="high", source=f"the header of {filename} (range read)",
        subject=subject, data={"file": filename, "pairs_read": pairs_read or 0})


def header_base_ids(bases: Iterable[Any]) -> list[str]:
    """Hub ids of a GGUF header's `general.base_model.*` entries: from the repo URL when it is a Hub URL, else
    organization/name."""
    out = []
    for b in bases:
        url = getattr(b, "repo_url", None) or ""
        m = re.search(r"huggingface\.co/([A-Za-z0-9][\w.-]*/[\w.-]+)", url)
        if m:
            out.append(m.group(1))
        elif getattr(b, "organization", None) and getattr(b, "name", None):
            out.append(f"{b.organization}/{b.name}")
    return list(dict.fromkeys(out))


def config_evidence(subject: str, config: Mapping[str, Any], parents: Sequence[tuple[str, Mapping[str, Any]]],
                    ) -> list[Evidence]:
    """`config-architecture-mismatch` (low confidence: a tie-breaker only, since a fine-tune may convert its
    base to another architecture) when the model's config.json `model_type` differs from that of its single
    declared weights parent."""
    mine = config.get("model_type")
    known = [(pid, c.get("model_type")) for pid, c in parents if isinstance(c.get("model_type"), str)]
    if not isinstance(mine, str) or len(parents) != 1 or len(known) != 1:
        return []
    parent, theirs = known[0]
    if theirs.lower() == mine.lower():
        return []
    return [Evidence(
        code="config-architecture-mismatch",
        message=(f"{subject}'s config.json says model_type '{mine}', its declared base {parent}'s says '{theirs}': "
                 "the weights may come from another model (or were converted)."),
        method="config", confidence="low", source="the Hub's config summary of both repos", subject=subject,
        refers_to=parent, data={"model_type": mine, "base_model_type": theirs})]
