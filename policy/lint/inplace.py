"""Writing a fixed card in place (`policycheck lint --fix`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from policy.errors import PolicyError


def write_in_place(path: str, data: bytes) -> None:
    """Replace a card with its fixed text: written beside it and renamed, keeping its permissions."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.policycheck-fix")
    try:
        tmp.write_bytes(data)
        shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot write the fixed card ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)
