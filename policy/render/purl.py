"""The one way a model's package URL and supplier are made, for SPDX 2.3, SPDX 3 and CycloneDX alike:
packageurl-python's `pkg:huggingface/<namespace>/<name>[@<revision>]`, so that the three documents name a model
the same way.

packageurl-python applies the purl spec's rules for the type: the revision (a commit sha) is lowercased, and
characters are percent-encoded as the spec says (the hand-made SPDX purl once kept an upper-case sha and
encoded a `/` in a revision that the CycloneDX one kept).
"""

from __future__ import annotations

from typing import Any


def package_url(node_id: str, revision: str | None) -> Any:
    """The `PackageURL` of a Hub model (CycloneDX takes the object)."""
    from packageurl import PackageURL  # imported when a document is written: not on the CLI's start-up path

    namespace, _, name = node_id.rpartition("/")
    return PackageURL(type="huggingface", namespace=namespace or None, name=name, version=revision or None)


def purl(node_id: str, revision: str | None) -> str:
    """The purl string of a Hub model (SPDX's external reference and `software_packageUrl`)."""
    return str(package_url(node_id, revision).to_string())


HUB_PUBLISHER = "Hugging Face"  # the publisher of the Hub's legacy models that have no namespace (gpt2, ...)


def supplier(node_id: str, on_hub: bool) -> str | None:
    """The organisation that supplies a model or dataset (NTIA's minimum "supplier name"): the Hub namespace of its
    id (`org/name` -> `org`, also for an API model named `openai/gpt-4o`), the Hub itself for a legacy Hub model
    with no namespace, else None (a local path, a bare name off the Hub)."""
    if not node_id or node_id.startswith(("/", ".")):
        return None
    namespace = node_id.partition("/")[0] if "/" in node_id else ""
    return namespace or (HUB_PUBLISHER if on_hub else None)
