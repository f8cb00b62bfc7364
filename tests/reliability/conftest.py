"""Every test in this folder is a reliability test (`-m reliability` runs just them): one
per finding of the reliability review, each failing on the code before its fix, plus
checks that fail if a fixed bug comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.reliability)
