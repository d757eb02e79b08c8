"""The README documents what the code has: every error code and every setting."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from pydantic import BaseModel

import folio
from folio.errors import ERROR_CODES
from folio.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()

# Error classes register their codes when their module is imported, so import every module.
for module in pkgutil.walk_packages(folio.__path__, "folio."):
    if module.name not in {"folio.__main__"} and ".migrations" not in module.name:
        importlib.import_module(module.name)


def test_every_error_code_is_in_the_readme_with_its_status() -> None:
    ours = {code: error for code, error in ERROR_CODES.items() if error.__module__.startswith("folio.")}
    missing = [code for code, error in ours.items() if f"| `{code}` | {error.status_code} |" not in README]
    assert missing == []


def test_every_setting_is_in_the_readme() -> None:
    names: list[str] = []
    for field, info in Settings.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += [
                f"FOLIO_{field.upper()}__{(sub.alias or name).upper()}" for name, sub in annotation.model_fields.items()
            ]
        else:
            names.append(f"FOLIO_{field.upper()}")
    assert [name for name in names if name not in README] == []
