"""Bad operator arguments fail when the DAG file is parsed, saying what was expected."""

from __future__ import annotations

from typing import Any

import pytest

from hitlkit import UnsupportedTypeError
from hitlkit.contrib.airflow import HitlOperator


def test_an_unsupported_type_fails_at_parse_time() -> None:
    with pytest.raises(UnsupportedTypeError):
        HitlOperator(task_id="q", data_type=object)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"timeout_seconds": 0}, ValueError, "timeout_seconds must be a positive number, got 0"),
        ({"timeout_seconds": True}, ValueError, "timeout_seconds must be a positive number"),
        ({"default": "many"}, ValueError, "expected an integer, got 'many'"),
        ({"store": 3}, TypeError, "store must be a store URL or folder path"),
    ],
)
def test_bad_options_say_what_was_expected(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        HitlOperator(task_id="q", data_type=int, **options)
