"""Which license a repo's LICENSE file is, by its text, and whether the card says the same.

A card's `license:` is what its author typed; the LICENSE file beside it is what a recipient gets. When they
disagree ("license: mit" over the Llama 3.1 Community License Agreement) the model is not what its card says.

The text is compared with the catalog's license texts by their word 5-grams (lower-cased ASCII letters and digits,
so that layout, Markdown and punctuation do not count), each hashed with CRC-32 and sampled (the hashes divisible
by `SAMPLE`: the same sample of any text, so that two samples compare as the texts do). The similarity is Dice's
coefficient, 2|A∩B| / (|A| + |B|): 1.0 for the same text, about 0.9 for the Llama 3.1 and 3.2 agreements (which
differ in their names and dates), near 0 for unrelated licenses. The reference data
(`rules/evidence/license_texts.yaml`) holds, for each license, the sample of the text at its pinned source; build
an entry with `python -m policy.evidence.licensefiles ID SOURCE FILE`.

Pure: the scanner reads the file (bounded), the caller passes what the card's license resolved to.
"""

from __future__ import annotations

import base64
import re
import struct
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policy import refdata
from policy.model.evidence import Evidence
from policy.records import record
from policy.refdata import DataProblem

SHINGLE = 5  # words per n-gram
SAMPLE = 4  # keep the n-gram hashes divisible by this
MAX_WORDS = 60_000  # words of a file compared (a license is a few thousand; a hostile file stops here)
MATCH = 0.80  # Dice at or above which the file is that license
MARGIN = 0.10  # licenses within this of the best match are near twins, told apart by their own n-grams
LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt", "license",
                 "license.md", "license.txt", "LICENSE-MODEL", "LICENSE_MODEL", "MODEL_LICENSE")
DIFFERS = "license-file-differs"
NAMES = "license-file-names"
_WORD = re.compile(r"[a-z0-9]+")


def sample(text: str) -> frozenset[int]:
    """The sampled hashes of the text's word 5-grams."""
    words = _WORD.findall(text.lower(), 0, 1 << 22)[:MAX_WORDS]
    out = set()
    for i in range(len(words) - SHINGLE + 1):
        h = zlib.crc32(" ".join(words[i:i + SHINGLE]).encode())
        if h % SAMPLE == 0:
            out.add(h)
    return frozenset(out)


def dice(a: frozenset[int], b: frozenset[int]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


@record(slots=True)
class LicenseText:
    id: str
    source: str
    hashes: frozenset[int]


def pack(hashes: Iterable[int]) -> str:
    """The sample as stored: sorted 32-bit hashes, big-endian, base64."""
    values = sorted(hashes)
    return base64.b64encode(struct.pack(f">{len(values)}I", *values)).decode()


def unpack(text: str) -> frozenset[int]:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 4:
        raise ValueError("not a whole number of 32-bit hashes")
    return frozenset(struct.unpack(f">{len(raw) // 4}I", raw))


def load_texts(data: Any) -> tuple[LicenseText, ...]:
    """The license texts from the parsed `rules/evidence/license_texts.yaml` (schema-validated first)."""
    if not isinstance(data, Mapping) or data.get("schema_version") != 1:
        raise DataProblem("license texts: expected a mapping with `schema_version: 1`")
    if data.get("shingle") != SHINGLE or data.get("sample") != SAMPLE:
        raise DataProblem(f"license texts: built with other settings (need shingle {SHINGLE}, sample {SAMPLE})")
    out = []
    for i, item in enumerate(data.get("licenses") or ()):
        try:
            hashes = unpack(str(item["hashes"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataProblem(f"license texts: entry {i + 1}: unreadable hashes ({exc})", ("licenses", i)) from None
        out.append(LicenseText(str(item["id"]), str(item["source"]), hashes))
    return tuple(out)


def default_texts() -> tuple[LicenseText, ...]:
    return refdata.load("license_texts", build=load_texts)  # type: ignore[no-any-return]


def identify(text: str, texts: Sequence[LicenseText]) -> list[tuple[LicenseText, float]]:
    """The license the text is, with its Dice similarity; several only when the text cannot tell them apart.

    Near twins (CC BY 4.0 and CC BY-NC 4.0 at 0.98; the Llama 3.x agreements at 0.94) are told apart by what
    makes each one itself: among the licenses within MARGIN of the best, the n-grams of each that no other has
    ("NonCommercial", "Llama 3.2"). A license whose own n-grams the text mostly holds is identified; when no
    candidate has any, the best match is."""
    mine = sample(text)
    if not mine:
        return []
    scored = sorted(((t, dice(mine, t.hashes)) for t in texts), key=lambda x: -x[1])
    if not scored or scored[0][1] < MATCH:
        return []
    close = [(t, s) for t, s in scored if s >= scored[0][1] - MARGIN]
    if len(close) == 1:
        return close
    strong = []
    for t, s in close:
        own = t.hashes.difference(*(o.hashes for o, _ in close if o is not t))
        if own and len(mine & own) >= 0.5 * len(own):
            strong.append((t, s))
    return strong or close[:1]


def license_file_evidence(subject: str, file_name: str, text: str, declared_ids: Sequence[str], declared: str,
                          names: Mapping[str, str], texts: Sequence[LicenseText]) -> list[Evidence]:
    """What the LICENSE file says against the card: nothing when it is one of the declared licenses (or is no
    license the catalog knows); `license-file-differs` when it is another; `license-file-names` when the card's
    license resolved to nothing known. `declared_ids`: the catalog ids the card's license resolved to;
    `declared`: the card's license as written; `names`: catalog id -> name, for the message."""
    found = identify(text, texts)
    if not found:
        return []
    ids = [t.id for t, _ in found]
    if set(ids) & set(declared_ids):
        return []
    best, score = found[0]
    what = names.get(best.id, best.id)
    others = [names.get(i, i) for i in ids[1:]]
    also = f" (or {', '.join(others)}: the text holds what sets each apart)" if others else ""
    data = {"license": best.id, "similarity": round(score, 3), "candidates": ids, "file": file_name,
            "reference": best.source}
    if declared_ids:
        return [Evidence(
            code=DIFFERS, message=f"{subject}'s {file_name} is the {what}{also} (similarity {score:.2f}); its card "
                                  f"says {declared}",
            method="license-text", confidence="high" if score >= 0.9 else "medium", source=file_name,
            subject=subject, refers_to=None, data=data)]
    return [Evidence(
        code=NAMES, message=f"{subject}'s {file_name} is the {what}{also} (similarity {score:.2f}); its card's "
                            f"license ({declared or 'none'}) names nothing the catalog knows",
        method="license-text", confidence="high" if score >= 0.9 else "medium", source=file_name, subject=subject,
        refers_to=None, data=data)]


def main(argv: Sequence[str]) -> int:
    """`python -m policy.evidence.licensefiles ID SOURCE FILE`: an entry of rules/evidence/license_texts.yaml."""
    if len(argv) != 3:
        print(main.__doc__, file=sys.stderr)
        return 2
    lid, source, path = argv
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    if text.startswith("---\n") and "\n---\n" in text[4:]:  # ScanCode's .LICENSE files: YAML front matter
        text = text[4:].split("\n---\n", 1)[1]
    hashes = sample(text)
    print(f"  - id: {lid}\n    source: \"{source}\"\n    words: {len(_WORD.findall(text.lower()))}\n"
          f"    hashes: {pack(hashes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
