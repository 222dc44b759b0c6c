"""Every input of the dossier path from outside is bounded before it costs memory or time: bodies,
codes, query parameters, moves and claims over the limits get their SPEC code over REST, and a
refused submission stores nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.dossiers.calendar import vietnam_date
from gateway.dossiers.service import FURTHEST, MAX_DOCUMENT_NAME
from gateway.trust.sign import SigningIdentity
from tests.conftest import Pki, Served, serving, settings_in
from tests.support.edossiers import moved, signed_dossier, submit, submitted

XML = {"Content-Type": "application/xml"}


@pytest.fixture(scope="module")
def served(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(settings_in(pki, tmp_path_factory.mktemp("bounds"))) as server:
        yield server


@pytest.fixture(scope="module")
def processing(served: Served, applicant: SigningIdentity) -> str:
    """A dossier its department is processing."""
    with served.client("portal") as portal:
        dossier_id = submitted(portal, signed_dossier(applicant, number=900))
    with served.client("benefits") as department:
        moved(department, dossier_id, to="accepted")
        moved(department, dossier_id, to="processing")
    return dossier_id


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert (answer.status_code, answer.headers["content-type"]) == (
        status,
        "application/problem+json",
    ), answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    return body


def malformed(answer: httpx.Response) -> None:
    problem(answer, 400, "XML_MALFORMED")


# --- Bodies -------------------------------------------------------------------------------------


def test_a_dossier_or_documents_over_the_body_limit_are_too_large_and_not_stored(
    pki: Pki, applicant: SigningIdentity, tmp_path: Path
) -> None:
    made = signed_dossier(applicant, number=1)
    limit = len(made.body) + 64
    over = made.body + b"\n" * 128  # white space after the root: XML, and over the limit
    settings = settings_in(pki, tmp_path).model_copy(update={"max_body_bytes": limit})
    with serving(settings) as served, served.client("portal") as portal:
        dossier_id = submitted(portal, made)
        query = {"MaHoSo": "000.00.01.G24-260302-00002", "MaTTHC": made.ma_tthc}

        def streamed() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield over

        for body in (lambda: over, streamed):
            answer = portal.post("/api/v1/dossiers", params=query, content=body(), headers=XML)
            problem(answer, 413, "XML_TOO_LARGE")
            documents = portal.post(
                f"/api/v1/dossiers/{dossier_id}/documents", content=body(), headers=XML
            )
            problem(documents, 413, "XML_TOO_LARGE")
        store = served.gateway.dossiers.store
        assert store.find("portal", ma_ho_so=query["MaHoSo"], sha256="-") is None
        assert store.get_original(hashlib.sha256(over).hexdigest()) is None


@pytest.mark.parametrize(
    "query",
    [
        {"MaHoSo": "000.00.01.G24-260302-" + "1" * 60},
        {"MaHoSo": "A" * 12 + ".A" * 30 + "-260302-00001"},
        {"MaTTHC": "1." + "0" * 63},
        {"MaTTHC": None},
        {"MaHoSo": None},
    ],
)
def test_dossier_codes_over_their_length_or_missing_are_malformed(
    served: Served, applicant: SigningIdentity, query: dict[str, str | None]
) -> None:
    made = signed_dossier(applicant, number=2)
    params = {"MaHoSo": made.ma_ho_so, "MaTTHC": made.ma_tthc, **query}
    sent = {name: value for name, value in params.items() if value is not None}
    with served.client("portal") as portal:
        malformed(portal.post("/api/v1/dossiers", params=sent, content=made.body, headers=XML))
        assert submit(portal, made).status_code == 202  # the same dossier, its codes right


@pytest.mark.parametrize("dossier_id", ["0" * 65, "01J-0000", "%2e%2e"])
def test_a_dossier_id_over_its_length_or_not_an_id_is_malformed(
    served: Served, dossier_id: str
) -> None:
    with served.client("benefits") as department:
        malformed(department.get(f"/api/v1/dossiers/{dossier_id}"))
        malformed(department.post(f"/api/v1/dossiers/{dossier_id}/transitions", json={}))


# --- Lists and queues ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"cursor": "x" * 257},
        {"cursor": "bm90IGEgY3Vyc29y"},
        {"status": "lost"},
        {"late": "perhaps"},
        {"department": "d" * 65},
        {"department": "Benefits"},
        {"department": "../benefits"},
    ],
)
def test_listing_parameters_out_of_bounds_are_malformed(
    served: Served, query: dict[str, str]
) -> None:
    with served.client("benefits") as department:
        malformed(department.get("/api/v1/dossiers", params=query))


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/queues/benefits", {"limit": "201"}),
        ("/api/v1/queues/benefits", {"cursor": "x" * 257}),
        ("/api/v1/queues/benefits", {"cursor": "bm90IGEgY3Vyc29y"}),
        ("/api/v1/queues/" + "b" * 65, {}),
        ("/api/v1/queues/BENEFITS", {}),
    ],
)
def test_queue_parameters_out_of_bounds_are_malformed(
    served: Served, path: str, query: dict[str, str]
) -> None:
    with served.client("benefits") as department:
        malformed(department.get(path, params=query))


@pytest.mark.parametrize(
    "query",
    [
        {"visibility": "0.5"},
        {"visibility": "3601"},
        {"visibility": "nan"},
        {"visibility": "inf"},
        {"worker": "w" * 65},
        {"worker": "a worker"},
    ],
)
def test_claim_parameters_out_of_bounds_are_malformed(
    served: Served, processing: str, query: dict[str, str]
) -> None:
    with served.client("benefits") as department:
        malformed(department.post("/api/v1/queues/benefits/claims", params=query))
        token = "t" * 129
        malformed(department.post(f"/api/v1/queues/benefits/claims/{token}/ack"))


def test_a_department_not_in_the_routing_file_is_not_found(served: Served) -> None:
    with served.client("benefits") as department:
        answer = department.get("/api/v1/dossiers", params={"department": "archive"})
        problem(answer, 404, "NOT_FOUND")


# --- Moves --------------------------------------------------------------------------------------


def test_a_move_over_its_body_limit_is_too_large(served: Served, processing: str) -> None:
    with served.client("benefits") as department:
        answer = department.post(
            f"/api/v1/dossiers/{processing}/transitions",
            content=b'{"to": "refused", "reason": "' + b"x" * 70_000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
    problem(answer, 413, "XML_TOO_LARGE")


@pytest.mark.parametrize(
    "move",
    [
        {"to": "refused", "reason": "x" * 2001},
        {"to": "accepted", "officer": "x" * 201},
        {"to": "supplement_requested", "documents": ["Giấy ra viện"] * 101},
        {"to": "supplement_requested", "documents": ["x" * (MAX_DOCUMENT_NAME + 1)]},
        {"to": "supplement_requested", "documents": ["x"], "due_date": "10000-01-01"},
        {"to": "accepted", "by": "someone else"},
        {"to": "archived"},
        {},
    ],
)
def test_move_fields_over_their_bounds_are_malformed(
    served: Served, processing: str, move: dict[str, object]
) -> None:
    with served.client("benefits") as department:
        malformed(department.post(f"/api/v1/dossiers/{processing}/transitions", json=move))


def _ahead(days: int) -> str:
    return (vietnam_date(datetime.now(UTC)) + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("move", "rule", "path"),
    [
        ({"due_date": _ahead(FURTHEST.days + 1)}, "DOSSIER.DATE_RANGE", "due_date"),
        ({"supplement_due": "9999-12-31"}, "DOSSIER.DATE_RANGE", "supplement_due"),
        ({"supplement_due": _ahead(FURTHEST.days + 1)}, "DOSSIER.DATE_RANGE", "supplement_due"),
        ({"supplement_due": "2020-01-02"}, "DOSSIER.DATE_PAST", "supplement_due"),
        (
            {"supplement_due": _ahead(30), "due_date": _ahead(20)},
            "DOSSIER.DUE_BEFORE_SUPPLEMENT",
            "due_date",
        ),
        ({"documents": [" ", ""]}, "DOSSIER.SUPPLEMENT_DOCUMENTS", "documents"),
    ],
)
def test_a_supplement_request_out_of_range_names_its_rule_and_field(
    served: Served, processing: str, move: dict[str, object], rule: str, path: str
) -> None:
    asked = {"to": "supplement_requested", "documents": ["Giấy ra viện"], **move}
    with served.client("benefits") as department:
        answer = department.post(f"/api/v1/dossiers/{processing}/transitions", json=asked)
        issue = problem(answer, 422, "RULE_VIOLATION")["issues"][0]
        assert (issue["rule"], issue["path"]) == (rule, path)
        assert department.get(f"/api/v1/dossiers/{processing}").json()["state"] == "processing"


def test_supplement_fields_on_another_move_are_refused(served: Served, processing: str) -> None:
    with served.client("benefits") as department:
        answer = department.post(
            f"/api/v1/dossiers/{processing}/transitions",
            json={"to": "finished", "documents": ["Giấy ra viện"]},
        )
    issue = problem(answer, 422, "RULE_VIOLATION")["issues"][0]
    assert (issue["rule"], issue["path"]) == ("DOSSIER.MOVE_FIELDS", "to")
