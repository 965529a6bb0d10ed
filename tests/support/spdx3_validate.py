"""Offline validation of SPDX 3.0.1 JSON-LD: the two layers the specification defines ("Structural validation"
against the SPDX JSON Schema, "Semantic validation" against the SHACL shapes of the SPDX OWL ontology).

The SPDX files ship in `rules/schema/spdx-3.0.1/` (their source and sha256 are in its README). Nothing is
fetched: the JSON-LD `@context` URL is replaced by the shipped context before rdflib parses the document, and
the shapes come from the shipped `spdx-model.ttl`. The schema validator and the shapes graph are built once per
process. The document is checked together with the ontology (as pySHACL's `ont_graph` would mix it in), so
the class hierarchy and the model's named individuals (`NoAssertionLicense`, `NoneLicense`, ...) are known.

jsonschema-rs and pySHACL are in the `test` extra: the CLI does not validate what it writes (as for CycloneDX,
the tests do); a missing pySHACL raises ImportError naming the extra.
"""

from __future__ import annotations

import copy
import functools
import json
import warnings
from pathlib import Path
from typing import Any

from policy.resources import rules_dir

CONTEXT_URL = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
MAX_ERRORS = 50


def spdx_dir() -> Path:
    return rules_dir() / "schema" / "spdx-3.0.1"


def _schema() -> dict[str, Any]:
    return dict(json.loads((spdx_dir() / "spdx-json-schema.json").read_text(encoding="utf-8")))


@functools.cache
def _schema_validator(ref: str | None = None) -> Any:
    """The whole schema, or (`ref`) one of its `$defs` with the others beside it (for pointed messages).
    jsonschema-rs when installed (the `test` extra: about 1000 times faster on this schema), else jsonschema."""
    schema = _schema()
    if ref is not None:
        schema = {"$schema": schema["$schema"], "type": "object", "$ref": f"#/$defs/{ref}",
                  "unevaluatedProperties": False, "$defs": schema["$defs"]}  # as the schema checks @graph items
    try:
        import jsonschema_rs
    except ImportError:
        from jsonschema import Draft202012Validator

        return Draft202012Validator(schema)
    return jsonschema_rs.Draft202012Validator(schema)


@functools.cache
def _context() -> dict[str, Any]:
    data = json.loads((spdx_dir() / "spdx-context.jsonld").read_text(encoding="utf-8"))
    return dict(data["@context"])


@functools.cache
def _shapes() -> Any:
    import rdflib

    graph = rdflib.Graph()
    graph.parse(spdx_dir() / "spdx-model.ttl", format="turtle")
    return graph


def schema_errors(data: Any) -> list[str]:
    """Structural layer: the SPDX 3.0.1 JSON Schema (unknown properties are rejected: the schema closes every
    class with `unevaluatedProperties: false`). The verdict is the whole schema's; the messages come from each
    `@graph` element checked against the definition of its own `type`, which points at the property."""
    if _schema_validator().is_valid(data):
        return []
    out: list[str] = []
    graph = data.get("@graph") if isinstance(data, dict) else None
    defs = _schema()["$defs"]
    for i, element in enumerate(graph if isinstance(graph, list) else []):
        kind = element.get("type") if isinstance(element, dict) else None
        ref = kind if isinstance(kind, str) and kind in defs else "AnyClass"
        for e in _schema_validator(ref).iter_errors(element):
            where = "/".join(str(p) for p in _path(e))
            out.append(f"schema: /@graph/{i}{'/' if where else ''}{where} ({kind}): {_short(e.message)}")
    return out[:MAX_ERRORS] or ["schema: the document does not match the SPDX 3.0.1 JSON Schema"]


def _path(error: Any) -> list[Any]:
    path = getattr(error, "instance_path", None)
    return list(path if path is not None else error.absolute_path)


def shacl_errors(data: Any) -> list[str]:
    """Semantic layer: the document as RDF (the shipped context inlined) against the SPDX SHACL shapes."""
    import pyshacl
    import rdflib
    from rdflib.namespace import SH

    if not isinstance(data, dict) or data.get("@context") != CONTEXT_URL:
        return [f"shacl: the document's @context is not {CONTEXT_URL}"]
    doc = copy.copy(data)
    doc["@context"] = _context()
    graph = rdflib.Graph()
    try:
        with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph
            warnings.simplefilter("ignore", DeprecationWarning)
            graph.parse(data=json.dumps(doc), format="json-ld")
    except Exception as exc:  # any parse failure is a validation error of the document
        return [f"shacl: the document does not parse as JSON-LD: {_short(str(exc))}"]
    shapes = _shapes()
    merged = rdflib.Graph()  # the ontology mixed in once here (pySHACL's own `ont_graph` mixing re-clones
    merged += shapes         # every blank-node list of the model on each call: 20 times slower)
    merged += graph
    conforms, results, _ = pyshacl.validate(merged, shacl_graph=shapes, inplace=True, allow_infos=True,
                                            allow_warnings=True)
    if conforms:
        return []
    out = []
    for r in sorted(results.subjects(rdflib.RDF.type, SH.ValidationResult), key=str):
        parts = [str(results.value(r, x) or "-") for x in (SH.focusNode, SH.resultPath, SH.resultMessage)]
        out.append(_short("shacl: {}: {}: {}".format(*parts)))
    return sorted(out)[:MAX_ERRORS]


def validate(text: str) -> list[str]:
    """Every problem found in an SPDX 3.0.1 JSON-LD document (empty: valid in both layers)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return [f"json: {exc}"]
    return [*schema_errors(data), *shacl_errors(data)]


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
