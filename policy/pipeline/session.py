"""A session: what one run shares (the rule bundle, the policy files met, the sources of facts) and the check
of one target end to end: scan it, walk its lineage, gather the evidence, evaluate.

Facts come from local cards first (a card file or folder given as target, `--cards DIR`), then from the Hub
(through huggingface_hub; only imported when something has to be fetched), then curations and the policy
file fill in what is still missing. One bad target never aborts a batch: it becomes a `TargetError`.
Every use case (`check`, `tree`, `lint`, `annex`, `aiact`, `claims`, `inventory`) opens one `Session` and uses
only what it shows: `bundle`, `policy_for`, `hub`, `start_target`, `subject`, `hub_subject`, `check`, `judge`,
`check_all`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from policy.diagnostics import format_diagnostic
from policy.engine.evaluation import evaluate
from policy.engine.loader import Bundle, load_bundle, load_policy
from policy.errors import InputError, PolicyError, UsageError
from policy.evidence.claims import Independent, parse_independent
from policy.evidence.collect import benchmarks, family_of, names, reference_fingerprints, subject_evidence
from policy.evidence.fingerprints import (
    config_evidence,
    fingerprint_evidence,
    gguf_evidence,
    gguf_unread_evidence,
    header_base_ids,
    is_fingerprinted,
    is_weight_file,
    tokenizer_evidence,
)
from policy.model.catalog import Catalog
from policy.model.evidence import Evidence
from policy.model.facts import INVALID, MISSING, UNAVAILABLE, WEIGHT_RELATIONS, Edge, ModelFacts
from policy.model.policyfile import Policy, find_policy
from policy.model.report import Report, TargetError, WeightFile
from policy.model.vocab import CARD_TEXT
from policy.scan.ids import repo_id_problem
from policy.scan.lineage import build_lineage
from policy.scan.local import LocalSource, read_license_file, read_target

if TYPE_CHECKING:
    from policy.scan.hub import HubSource

Key = tuple[str, str]


@dataclass
class CheckOptions:
    """What a check resolves against: policy, rule data, local cards, network."""
    policy_file: Path | None = None
    rules: Sequence[Path] = ()
    cards: Sequence[Path] = ()
    fail_on: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    use_cache: bool = True
    offline: bool = False
    revision: str | None = None  # pins the subject(s) given as Hub ids
    hub_deadline: float | None = None  # seconds for each target's Hub work (default POLICYCHECK_HUB_DEADLINE)
    prefetch: bool = True  # fetch a node's declared parents as soon as it arrives (off for the tree audit,
    # whose in-tree parents come from the listing)
    evals: Path | None = None  # independent evaluation values (CSV or JSON) to judge claims against
    weight_hashes: bool = False  # read the sha256 of a Hub subject's weight files (one listing; the BOM formats)


MAX_NAME_LOOKUPS = 8  # Hub searches for display names per target (policy.scan.hub.HubSource.ids_named)


class Sources:
    """Local cards first, then the Hub; the Hub client is created on first need."""

    def __init__(self, cards: Sequence[Path], offline: bool, catalog: Catalog,
                 hub_deadline: float | None = None, prefetch: bool = True) -> None:
        self.local = LocalSource(cards)
        self.offline = offline
        self.hub_deadline = hub_deadline
        self.prefetch = prefetch
        self.catalog = catalog
        self._hub: HubSource | None = None

    @property
    def hub(self) -> HubSource:
        if self._hub is None:
            from policy.scan.hub import HubOptions, HubSource

            options = HubOptions.from_env(offline=self.offline)
            if self.hub_deadline is not None:
                options = replace(options, run_deadline=self.hub_deadline)
            if not self.prefetch:
                options = replace(options, prefetch_depth=0)
            self._hub = HubSource(options, self.catalog.api_terms, self.catalog.needs_text)
        return self._hub

    def fetch_many(self, keys: Sequence[Key]) -> Mapping[Key, ModelFacts]:
        found = {k: self.local.fetch_one(*k) for k in keys} if self.local.card_dirs else {}
        rest = [k for k in keys if k not in found or found[k].status == UNAVAILABLE]
        if rest:
            found.update(self.hub.fetch_many(rest))
        return found

    def subject(self, repo_id: str, revision: str | None) -> ModelFacts:
        if revision is None and self.local.card_dirs:
            local = self.local.fetch_one(repo_id, "model")
            if local.status != UNAVAILABLE:
                return local
        return self.hub.fetch_one(repo_id, "model", revision)

    def start_target(self) -> None:
        """Each target's Hub work has a deadline of its own (POLICYCHECK_HUB_DEADLINE)."""
        if self._hub is not None:
            self._hub.start_target()

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()


@dataclass
class Session:
    """Holds what a batch shares (rules, policies, sources) and checks targets one by one. A context manager:
    leaving it closes the Hub client."""

    options: CheckOptions
    bundle: Bundle = field(init=False)
    _policies: dict[str | None, Policy] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for folder in self.options.cards:
            if not Path(folder).is_dir():
                raise UsageError(f"--cards {folder}: no such folder" if not Path(folder).exists()
                                 else f"--cards {folder}: not a folder")
        self.bundle = load_bundle(self.options.rules, use_cache=self.options.use_cache)
        self.independent = load_independent(self.options.evals) if self.options.evals else []
        self.fingerprints = reference_fingerprints(self.options.rules)
        self.sources = Sources(self.options.cards, self.options.offline, self.bundle.catalog,
                               self.options.hub_deadline, self.options.prefetch)

    def policy_for(self, target: str) -> Policy:
        path = self.options.policy_file
        if path is None:
            start = Path(target) if Path(target).exists() else Path.cwd()
            path = find_policy(start.resolve())
        key = str(path) if path else None
        if key not in self._policies:
            policy = load_policy(path, self.bundle.catalog, self.bundle.packs,
                                 use_cache=self.options.use_cache) if path else Policy()
            if self.options.fail_on:
                policy = replace(policy, fail_on=self.options.fail_on)
            self._policies[key] = policy
        return self._policies[key]

    def subject(self, target: str) -> ModelFacts:
        if Path(target).exists():
            return read_target(target)
        if target.lower().endswith((".md", ".markdown", ".yaml", ".yml")) or target.startswith((".", "/", "~")):
            raise InputError(f"{target}: no such file or folder")
        return self.hub_subject(target, self.options.revision)

    def hub_subject(self, target: str, revision: str | None = None) -> ModelFacts:
        """The facts of a model named by its Hub id (local cards first, then the Hub), at `revision`: an
        InputError when the id is malformed, or names no repo that the Hub or the curations know."""
        problem = repo_id_problem(target)
        if problem:
            raise InputError(f"{target}: not a file, a folder or a valid Hub repo id (org/name): {problem}")
        facts = self.sources.subject(target, revision)
        if facts.status == MISSING and target not in self.bundle.curations:
            raise InputError(f"{target}: {facts.status_detail}")
        if facts.status == INVALID:
            raise InputError(f"{target}: {facts.status_detail}")
        return facts

    def check(self, target: str) -> Report | TargetError:
        folder = Path(target) if Path(target).exists() else None
        return self.judge(target, lambda: self.subject(target), policy_from=target, folder=folder)

    def judge(self, target: str, read: Callable[[], ModelFacts], *, policy_from: str,
              folder: Path | None = None) -> Report | TargetError:
        """Check the subject `read()` returns (a card, a Hub model, a model of an inventory: an API model or weights
        in the repository), with the policy found from `policy_from` (a path; `--policy` wins), its LICENSE file
        read from `folder` (a local card's folder) or the Hub."""
        self.sources.start_target()
        try:
            policy = self.policy_for(policy_from)
            subject = read()
            stated: dict[str, list[Evidence]] = {}  # what each ancestor's card says in its text

            def generated(node: ModelFacts) -> list[Edge]:
                from policy.evidence import ancestors

                stated[node.id] = ancestors.stated(node, names())
                return ancestors.stated_edges(node, stated[node.id], self.bundle.catalog.api_terms)

            lineage = build_lineage(subject, self.sources, self.bundle.catalog,
                                    (self.bundle.curations, policy.models), policy.max_depth, stated=generated)
            known = list(lineage.edges)  # a model anywhere in the walked lineage is declared (a base's teacher)
            evidence = subject_evidence(lineage.root, self.independent,
                                        require_independent="independent_evaluation" in policy.requirements,
                                        known=known)
            # what an ancestor's text says is evidence only where nothing declares it: a curation or the policy
            # file may state the same parent for that ancestor (then the walk followed the declared edge)
            declared = {(e.child, e.parent.lower()) for e in lineage.edges if e.declared_in != CARD_TEXT}
            evidence += [e for items in stated.values() for e in items
                         if not e.refers_to or (e.subject, e.refers_to.lower()) not in declared]
            evidence += self._license_file_evidence(folder, subject)
            evidence = self._resolve_names(evidence, policy)
            if subject.source == "hub":
                evidence += self._gguf_evidence(subject, known)
                weights = [(e.parent, lineage.nodes[e.parent].config) for e in known if e.child == subject.id
                           and e.relation in ("finetune", "adapter", "merge") and e.parent in lineage.nodes]
                evidence += config_evidence(subject.id, subject.config, weights)
            hashes: dict[str, str] = {}
            if (len(self.fingerprints) or self.options.weight_hashes) and subject.source == "hub":
                hashes = self.sources.hub.file_hashes(subject.id, subject.revision, is_fingerprinted)
            if len(self.fingerprints) and subject.source == "hub":
                evidence += fingerprint_evidence(subject.id, subject.license.display() if subject.license.present
                                                 else "", [e.parent for e in known], hashes, self.fingerprints)
                bases = [e.parent for e in known if e.child == subject.id and e.relation in WEIGHT_RELATIONS]
                families = {b: f for b in bases if (f := family_of(b, self.fingerprints))}
                evidence += tokenizer_evidence(subject.id, hashes, families, self.fingerprints)
            return evaluate(lineage, self.bundle.packs, self.bundle.catalog, policy, self.options.today, evidence,
                            catalog_digest=self.bundle.catalog_digest, scanned=subject,
                            weights=weight_files(hashes) if self.options.weight_hashes else None)
        except InputError as exc:
            return TargetError(target, exc.message, tuple(d.to_dict() for d in exc.diagnostics),
                               tuple(format_diagnostic(d) for d in exc.diagnostics))
        except PolicyError:
            raise  # configuration errors stop the run: every target would be judged by a broken policy
        except Exception as exc:  # a bug: report it for this target (exit 4) and go on with the batch
            import traceback

            return TargetError(target, f"internal error while checking {target}: {type(exc).__name__}: {exc} "
                               "(please report it)", frames=(traceback.format_exc(),), internal=True)

    def _resolve_names(self, evidence: list[Evidence], policy: Policy) -> list[Evidence]:
        """A model the prose names as written but no list holds ("deepseek-coder-6.7b-base"), resolved to a
        repo id: through the local cards' file names, the curations and the policy file's models, and, online,
        one search of the Hub's model listing per name (at most MAX_NAME_LOOKUPS per target, most downloaded
        first). A name nothing resolves stays as written."""
        from policy.evidence.prose import BASE_CODE, TEACHER_CODE
        from policy.scan.local import name_key

        out: list[Evidence] = []
        asked = 0
        for e in evidence:
            name = str(e.data.get("name") or "")
            if e.refers_to or e.code not in (TEACHER_CODE, BASE_CODE) or e.data.get("vague") or not name:
                out.append(e)
                continue
            how, ids = "the local cards", self.sources.local.ids_named(name)
            if not ids:
                how = "the curations and the policy file"
                ids = [k for k in (*self.bundle.curations, *policy.models)
                       if "/" in k and name_key(k.split("/", 1)[1]) == name_key(name)]
            if not ids and not self.sources.offline and asked < MAX_NAME_LOOKUPS:
                asked += 1
                how, ids = "the Hub's model search", self.sources.hub.ids_named(name)
            if ids:
                also = f"; also {', '.join(ids[1:3])}" if len(ids) > 1 else ""
                e = replace(e, refers_to=ids[0], message=f"{e.message} ({name!r} is {ids[0]}, by {how}{also})",
                            data={**e.data, "id": ids[0], "resolved_by": how})
            out.append(e)
        return out

    def _license_file_evidence(self, path: Path | None, subject: ModelFacts) -> list[Evidence]:
        """The subject's LICENSE file against its card's license: the folder given (or the folder of a README.md
        given), else the Hub repo's file at the commit evaluated."""
        found = None
        if path is not None and (path.is_dir() or (path.is_file() and path.name.lower() == "readme.md")):
            found = read_license_file(path if path.is_dir() else path.parent)
        elif subject.source in ("hub", "cache"):
            found = self.sources.hub.license_file(subject)
        if found is None:
            return []
        from policy.evidence.licensefiles import default_texts, license_file_evidence

        catalog = self.bundle.catalog
        resolved = catalog.resolve(subject.license)
        names = {lid: entry.name for lid, entry in catalog.entries.items()}
        declared = subject.license.display() if subject.license.present else ""
        return license_file_evidence(subject.id, found[0], found[1], resolved.ids if resolved.known else (),
                                     declared, names, default_texts())

    def _gguf_evidence(self, subject: ModelFacts, known: Sequence[Edge]) -> list[Evidence]:
        """A GGUF file's own license and base model (its header, read by range) against the card. A header that
        could not be read whole still gives what was read before the failure (GGUF metadata is sequential),
        and says so: the file's own declaration was not checked in full, so the verdict is at least review."""
        ggufs = sorted(f for f in subject.files if f.lower().endswith(".gguf"))
        if not ggufs or not subject.revision or self.options.offline:
            return []
        from policy.scan.headers import HeaderError

        out: list[Evidence] = []
        try:
            header = self.sources.hub.gguf_header(subject.id, ggufs[0], subject.revision)
        except HeaderError as exc:
            header = exc.partial
            out.append(gguf_unread_evidence(subject.id, ggufs[0], str(exc),
                                            header.kv_count if header is not None else None))
        if header is not None:
            out[:0] = gguf_evidence(subject.id, ggufs[0], header.license, header_base_ids(header.base_models),
                                    list(subject.license.values), [e.parent for e in known],
                                    self.bundle.catalog.lookup)
        return out

    @property
    def catalog(self) -> Catalog:
        return self.bundle.catalog

    @property
    def hub(self) -> HubSource:
        """The Hub source of this session (its client is made on first use)."""
        return self.sources.hub

    def start_target(self) -> None:
        """Start the Hub deadline of the next target (or batch of work)."""
        self.sources.start_target()

    def check_all(self, targets: Sequence[str]) -> Iterator[Report | TargetError]:
        """Check targets one by one, yielding each result as soon as it is done (a batch's memory stays flat)."""
        for target in targets:
            yield self.check(target)

    def close(self) -> None:
        self.sources.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_independent(path: Path) -> list[Independent]:
    """The independent evaluation values of `--evals FILE` (a pinned export, never fetched); exit 2 when the
    file cannot be read or a row is malformed (`file:row`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--evals {path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        return parse_independent(text, str(path), benchmarks())
    except InputError as exc:
        raise UsageError(f"--evals {exc.message}") from None


MAX_WEIGHT_FILES = 200


def weight_files(hashes: Mapping[str, str]) -> tuple[WeightFile, ...]:
    """The subject's weight files with the sha256 the Hub lists for them (LFS files only: a git blob id is not
    a digest of the file), sorted by path, at most MAX_WEIGHT_FILES."""
    return tuple(WeightFile(path, sha) for path, sha in sorted(hashes.items())
                 if is_weight_file(path) and re.fullmatch(r"[0-9a-f]{64}", sha))[:MAX_WEIGHT_FILES]

