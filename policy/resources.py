"""Locate the shipped `rules/` and `templates/` trees, from a checkout or from an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    """The directory holding `rules/` and `templates/`.

    In a wheel they are force-included as `policy/_data/`; in a checkout (editable install, tests) they sit
    beside the package.
    """
    bundled = _PACKAGE / "_data"
    if (bundled / "rules").is_dir():
        return bundled
    checkout = _PACKAGE.parent
    if (checkout / "rules").is_dir():
        return checkout
    raise FileNotFoundError("policycheck data (rules/, templates/) not found next to the package")


def rules_dir() -> Path:
    return data_root() / "rules"


def templates_dir() -> Path:
    return data_root() / "templates"


def schema_path(name: str) -> Path:
    return rules_dir() / "schema" / f"{name}.json"
