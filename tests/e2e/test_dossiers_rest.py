"""Dossiers over REST, end to end: a portal submits signed e-dossiers (signed at both levels by
xmlsec), departments move them and take them from their queues, over HTTP with httpx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from adapters.portal.synth import GeneratedDossier
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.dossiers.calendar import VIETNAM, WorkingCalendar
from gateway.dossiers.routing import load
from gateway.trust.sign import SigningIdentity
from gateway.xml.parser import XmlLimits, parse
from tests.conftest import Served
from tests.support import edossiers

WORKING_DAYS = {p: r.working_days for p, r in load(None).routes.items()}


class Clock:
    """The gateway's time, moved by the test (certificates are valid around the real now)."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@dataclass
class Portal:
    served: Served
    clock: Clock
    citizen: SigningIdentity

    @property
    def gateway(self) -> Gateway:
        return self.served.gateway

    def client(self, partner: str | None = "portal") -> httpx.Client:
        return self.served.client(partner)

    def make(self, procedure: str = "BENEFIT_MATERNITY", *, number: int = 1) -> GeneratedDossier:
        return edossiers.signed_dossier(
            self.citizen, number=number, procedure=procedure, at=self.clock.now()
        )

    def submit(self, made: GeneratedDossier, *, partner: str = "portal") -> httpx.Response:
        with self.client(partner) as client:
            return edossiers.submit(client, made)

    def submitted(self, number: int, procedure: str = "BENEFIT_MATERNITY") -> str:
        answer = self.submit(self.make(procedure, number=number))
        assert answer.status_code == 202, answer.text
        dossier_id: str = answer.json()["dossier_id"]
        return dossier_id

    def move(self, dossier_id: str, partner: str = "benefits", **move: object) -> httpx.Response:
        with self.client(partner) as client:
            return client.post(f"/api/v1/dossiers/{dossier_id}/transitions", json=move)


def _build(settings: Settings, clock: Clock) -> Gateway:
    return build(settings, clock=clock)


@pytest.fixture
def portal(settings: Settings, applicant: SigningIdentity) -> Iterator[Portal]:
    clock = Clock()
    gateway = _build(settings, clock)
    try:
        with Served(gateway) as served:
            yield Portal(served, clock, applicant)
    finally:
        gateway.close()


# --- Submission ---------------------------------------------------------------------------------


def test_a_signed_dossier_is_received_routed_and_due_in_working_days(portal: Portal) -> None:
    made = portal.make("BENEFIT_MATERNITY")
    answer = portal.submit(made)
    assert answer.status_code == 202, answer.text
    receipt = answer.json()
    assert receipt["status"] == "received"
    assert receipt["duplicate"] is False
    assert (receipt["ma_ho_so"], receipt["procedure"]) == (made.ma_ho_so, "BENEFIT_MATERNITY")
    assert receipt["department"] == "benefits"
    due = WorkingCalendar().due_date(portal.clock.now(), WORKING_DAYS["BENEFIT_MATERNITY"])
    assert receipt["due_date"] == due.isoformat()
    assert answer.headers["Location"] == f"/api/v1/dossiers/{receipt['dossier_id']}"
    with portal.client() as client:
        again = client.get(f"/api/v1/receipts/{receipt['id']}")
        signed = client.get(
            f"/api/v1/receipts/{receipt['id']}", headers={"Accept": "application/xml"}
        )
        dossier = client.get(answer.headers["Location"])
    assert again.json()["dossier_id"] == receipt["dossier_id"]
    root = parse(signed.content, XmlLimits())
    assert root.find("{urn:vss:gateway:receipt:1}Dossier").get("dueDate") == due.isoformat()
    assert root.find("{urn:vss:gateway:receipt:1}Signature") is None  # ds: namespace, below
    assert b"SignatureValue" in signed.content
    body = dossier.json()
    assert (body["state"], body["department"], body["late"]) == ("received", "benefits", False)
    assert [(h["state"], h["actor"]) for h in body["history"]] == [("received", "gateway")]
    assert body["applicant"] == {
        "kind": "citizen",
        "id": edossiers.CITIZEN_ID,
        "name": edossiers.CITIZEN_NAME,
    }


def test_the_same_dossier_again_answers_the_original_receipt_marked_duplicate(
    portal: Portal,
) -> None:
    made = portal.make(number=3)
    first = portal.submit(made).json()
    by_bytes = portal.submit(made)
    assert by_bytes.status_code == 202
    assert by_bytes.json()["duplicate"] is True
    assert by_bytes.json()["id"] == first["id"]
    # Other bytes (another dossier) under the same MaHoSo: still the first one.
    other = portal.make(number=4)
    same_code = GeneratedDossier(other.body, made.ma_ho_so, other.ma_tthc, other.procedure, ())
    by_code = portal.submit(same_code).json()
    assert (by_code["id"], by_code["duplicate"]) == (first["id"], True)


def test_an_unknown_procedure_is_refused_and_nothing_is_stored(portal: Portal) -> None:
    made = portal.make(number=5)
    wrong = GeneratedDossier(made.body, made.ma_ho_so, "1.000000", made.procedure, ())
    answer = portal.submit(wrong)
    assert answer.status_code == 422
    assert answer.json()["code"] == "RULE_VIOLATION"
    assert portal.gateway.dossiers.store.find("portal", ma_ho_so=made.ma_ho_so, sha256="-") is None


def test_a_procedure_the_routing_file_does_not_route_is_refused(
    settings: Settings, applicant: SigningIdentity, tmp_path: Path
) -> None:
    routing = tmp_path / "routing.toml"
    routing.write_text(
        'departments = ["benefits", "book-and-card"]\nsupplement_working_days = 10\n'
        '[procedures.BENEFIT_PENSION]\ndepartment = "benefits"\nworking_days = 20\n',
        encoding="utf-8",
    )
    clock = Clock()
    gateway = _build(settings.model_copy(update={"routing": routing}), clock)
    try:
        with Served(gateway) as served:
            answer = Portal(served, clock, applicant).submit(
                Portal(served, clock, applicant).make()
            )
    finally:
        gateway.close()
    assert answer.status_code == 422
    assert answer.json()["issues"][-1]["rule"] == "DOSSIER.NOT_ROUTED"


@pytest.mark.parametrize("code", ["G24-2603-00001", "G24-261340-00001", "g24-260302-00001", "x"])
def test_a_malformed_ma_ho_so_is_refused(portal: Portal, code: str) -> None:
    made = portal.make(number=6)
    answer = portal.submit(GeneratedDossier(made.body, code, made.ma_tthc, made.procedure, ()))
    assert answer.status_code == 400
    assert answer.json()["code"] == "XML_MALFORMED"


def test_only_a_portal_submits(portal: Portal) -> None:
    answer = portal.submit(portal.make(number=7), partner="benefits")
    assert answer.status_code == 403


# --- Lifecycle ----------------------------------------------------------------------------------


def test_a_department_moves_its_dossiers_and_an_illegal_move_names_the_allowed_ones(
    portal: Portal,
) -> None:
    dossier_id = portal.submitted(10)
    illegal = portal.move(dossier_id, to="finished")
    assert illegal.status_code == 409
    assert illegal.json()["code"] == "CONFLICT"
    assert illegal.json()["allowed"] == ["accepted", "refused"]
    accepted = portal.move(dossier_id, to="accepted", officer="Lê Văn Tâm")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["allowed"] == ["processing", "stopped"]
    step = accepted.json()["history"][-1]
    assert (step["by"], step["actor"], step["officer"]) == ("benefits", "department", "Lê Văn Tâm")


def test_who_may_move_what(portal: Portal) -> None:
    dossier_id = portal.submitted(11)
    # Another department does not see it; a hospital may not move dossiers at all.
    assert portal.move(dossier_id, partner="book-and-card", to="accepted").status_code == 404
    assert portal.move(dossier_id, partner="hospital-01929", to="accepted").status_code == 403
    # The other portal does not see it; its own portal may only withdraw it.
    assert portal.move(dossier_id, partner="other-portal", to="withdrawn").status_code == 404
    refused = portal.move(dossier_id, partner="portal", to="accepted")
    assert (refused.status_code, refused.json()["allowed"]) == (409, ["withdrawn"])
    withdrawn = portal.move(dossier_id, partner="portal", to="withdrawn", reason="by the citizen")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"


def test_refusing_needs_a_reason(portal: Portal) -> None:
    dossier_id = portal.submitted(12)
    answer = portal.move(dossier_id, to="refused")
    assert answer.status_code == 422
    assert answer.json()["issues"][0]["rule"] == "DOSSIER.REASON"
    assert portal.move(dossier_id, to="refused", reason="not VSS's").status_code == 200


def test_supplements_requested_then_sent_bring_the_dossier_back_to_processing(
    portal: Portal,
) -> None:
    dossier_id = portal.submitted(13)
    portal.move(dossier_id, to="accepted")
    portal.move(dossier_id, to="processing")
    assert portal.move(dossier_id, to="supplement_requested").status_code == 422  # no list
    asked = portal.move(
        dossier_id,
        to="supplement_requested",
        documents=["Giấy ra viện (bản sao)"],
        reason="thiếu giấy ra viện",
    )
    assert asked.status_code == 200, asked.text
    body = asked.json()
    calendar = WorkingCalendar()
    today = portal.clock.now().astimezone(VIETNAM).date()
    supplement_due = calendar.add_working_days(today, 15)
    new_due = calendar.add_working_days(supplement_due, WORKING_DAYS["BENEFIT_MATERNITY"])
    assert body["requested_documents"] == ["Giấy ra viện (bản sao)"]
    assert (body["supplement_due"], body["due_date"]) == (
        supplement_due.isoformat(),
        new_due.isoformat(),
    )
    more = portal.make(number=113)
    with portal.client() as client:
        sent = client.post(
            f"/api/v1/dossiers/{dossier_id}/documents",
            content=more.body,
            headers={"Content-Type": "application/xml"},
        )
        assert sent.status_code == 202, sent.text
        assert (sent.json()["kind"], sent.json()["duplicate"]) == ("documents", False)
        again = client.post(
            f"/api/v1/dossiers/{dossier_id}/documents",
            content=more.body,
            headers={"Content-Type": "application/xml"},
        )
        assert again.json()["duplicate"] is True
        dossier = client.get(f"/api/v1/dossiers/{dossier_id}").json()
    assert dossier["state"] == "processing"
    assert dossier["requested_documents"] == []
    assert dossier["due_date"] == new_due.isoformat()
    assert [(h["state"], h["actor"]) for h in dossier["history"]] == [
        ("received", "gateway"),
        ("accepted", "department"),
        ("processing", "department"),
        ("supplement_requested", "department"),
        ("processing", "portal"),
    ]
    assert dossier["history"][3]["reason"] == "thiếu giấy ra viện"
    assert dossier["history"][3]["documents"] == ["Giấy ra viện (bản sao)"]


def test_a_named_due_date_in_the_past_is_refused(portal: Portal) -> None:
    dossier_id = portal.submitted(14)
    portal.move(dossier_id, to="accepted")
    portal.move(dossier_id, to="processing")
    answer = portal.move(
        dossier_id, to="supplement_requested", documents=["x"], due_date="2020-01-02"
    )
    assert answer.status_code == 422
    assert answer.json()["issues"][0]["rule"] == "DOSSIER.DATE_PAST"


# --- Reads --------------------------------------------------------------------------------------


def test_dossiers_are_listed_by_filter_and_by_pages_and_late_ones_found(portal: Portal) -> None:
    ids = [portal.submitted(n) for n in range(20, 25)]
    portal.move(ids[0], to="accepted")
    with portal.client("benefits") as client:
        seen: list[str] = []
        url: str | None = "/api/v1/dossiers?status=received&limit=2"
        while url:
            page = client.get(url)
            assert page.status_code == 200, page.text
            seen += [item["id"] for item in page.json()["items"]]
            url = page.json()["next"]
        assert seen == ids[1:]
        assert client.get("/api/v1/dossiers", params={"late": "true"}).json()["items"] == []
        # A month later, the four dossiers still waiting are late.
        portal.clock.at += timedelta(days=30)
        late = client.get("/api/v1/dossiers", params={"late": "true", "limit": 50}).json()
        assert {item["id"] for item in late["items"]} == set(ids)
        assert all(item["late"] for item in late["items"])
        assert (
            client.get("/api/v1/dossiers", params={"department": "book-and-card"}).status_code
            == 403
        )
    with portal.client("portal") as client:
        assert client.get("/api/v1/dossiers").status_code == 403


def test_a_dossier_of_another_partner_is_not_found(portal: Portal) -> None:
    dossier_id = portal.submitted(30)
    for partner in ("other-portal", "book-and-card"):
        with portal.client(partner) as client:
            assert client.get(f"/api/v1/dossiers/{dossier_id}").status_code == 404
    with portal.client("benefits") as client:
        assert client.get(f"/api/v1/dossiers/{dossier_id}").status_code == 200


# --- Queues -------------------------------------------------------------------------------------


def test_each_task_goes_to_exactly_one_of_two_workers_and_leaves_when_acked(
    portal: Portal,
) -> None:
    ids = {portal.submitted(n) for n in range(40, 46)}
    with portal.client("benefits") as client:
        queued = client.get("/api/v1/queues/benefits", params={"limit": 50}).json()
    assert {item["id"] for item in queued["items"]} == ids
    taken: dict[str, list[str]] = {"a": [], "b": []}

    def work(worker: str) -> None:
        with portal.client("benefits") as client:
            for _ in range(2 * len(ids)):  # bounded: a task handed out twice fails below
                answer = client.post(
                    "/api/v1/queues/benefits/claims", params={"worker": worker, "visibility": 60}
                )
                if answer.status_code == 204:
                    return
                assert answer.status_code == 200, answer.text
                claim = answer.json()
                dossier_id = claim["dossier"]["id"]
                taken[worker].append(dossier_id)
                # The work done: the dossier leaves department work, then its task is acked.
                moved = client.post(
                    f"/api/v1/dossiers/{dossier_id}/transitions",
                    json={"to": "refused", "reason": "thiếu giấy ra viện"},
                )
                assert moved.status_code == 200, moved.text
                acked = client.post(claim["links"]["ack"])
                assert acked.status_code == 204, acked.text

    workers = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    handed = taken["a"] + taken["b"]
    assert sorted(handed) == sorted(ids)  # every task once, to one worker
    with portal.client("benefits") as client:
        assert client.post("/api/v1/queues/benefits/claims").status_code == 204


def test_an_unacked_claim_goes_to_another_worker_after_its_visibility_timeout(
    portal: Portal,
) -> None:
    dossier_id = portal.submitted(50)
    with portal.client("benefits") as client:
        first = client.post(
            "/api/v1/queues/benefits/claims", params={"worker": "a", "visibility": 30}
        )
        assert first.json()["dossier"]["id"] == dossier_id
        assert (
            client.post("/api/v1/queues/benefits/claims", params={"worker": "b"}).status_code == 204
        )
        portal.clock.at += timedelta(seconds=31)
        second = client.post("/api/v1/queues/benefits/claims", params={"worker": "b"})
        assert (second.json()["dossier"]["id"], second.json()["deliveries"]) == (dossier_id, 2)
        late_ack = client.post(first.json()["links"]["ack"])
        assert (late_ack.status_code, late_ack.json()["code"]) == (409, "CONFLICT")
        assert client.post(second.json()["links"]["ack"]).status_code == 204


def test_a_queue_is_its_departments_own(portal: Portal) -> None:
    with portal.client("book-and-card") as client:
        assert client.get("/api/v1/queues/benefits").status_code == 403
        assert client.post("/api/v1/queues/benefits/claims").status_code == 403
        assert client.get("/api/v1/queues/archive").status_code == 404
    with portal.client("portal") as client:
        assert client.get("/api/v1/queues/benefits").status_code == 403


def test_due_dates_use_vietnam_dates(portal: Portal) -> None:
    # 18:00 UTC on a Thursday is already Friday in Vietnam: counted from Friday, Monday is day 1
    # (counted from Thursday, Friday would be). The next Thursday: certificates are valid now.
    today = datetime.now(UTC).date()
    thursday = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
    portal.clock.at = datetime(thursday.year, thursday.month, thursday.day, 18, tzinfo=UTC)
    receipt = portal.submit(portal.make(number=60)).json()
    calendar = WorkingCalendar()
    in_vietnam = thursday + timedelta(days=1)
    expected = calendar.add_working_days(in_vietnam, WORKING_DAYS["BENEFIT_MATERNITY"])
    assert expected != calendar.add_working_days(thursday, WORKING_DAYS["BENEFIT_MATERNITY"])
    assert receipt["due_date"] == expected.isoformat()
