"""Numbers from outside are bounded where they are declared: an out-of-range query number is a
400 problem, never a 500 from the store (SQLite overflows at 2^63, Redis refuses it)."""

from __future__ import annotations

import pytest

from gateway.api.signals import MAX_OFFSET
from tests.conftest import Served


@pytest.mark.parametrize(
    "query",
    ["offset=99999999999999999999", f"offset={MAX_OFFSET + 1}", "offset=-1", "limit=1001"],
)
def test_an_out_of_range_number_is_malformed(served: Served, query: str) -> None:
    with served.client() as http:
        answer = http.get(f"/api/v1/signals?facility=01929&{query}")
    assert (answer.status_code, answer.json()["code"]) == (400, "XML_MALFORMED")


def test_the_largest_offset_allowed_answers_an_empty_page(served: Served) -> None:
    with served.client() as http:
        answer = http.get(f"/api/v1/signals?facility=01929&offset={MAX_OFFSET}")
    assert (answer.status_code, answer.json()) == (200, [])


def test_every_number_of_the_description_has_an_upper_bound(served: Served) -> None:
    with served.client(None) as http:
        paths = http.get("/openapi.json").json()["paths"]
    numbers = [
        (path, parameter["name"], parameter["schema"])
        for path, operations in paths.items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["schema"].get("type") in ("integer", "number")
    ]
    assert numbers, "the description declares no number: the check below would prove nothing"
    assert [n for n in numbers if "maximum" not in n[2]] == []
