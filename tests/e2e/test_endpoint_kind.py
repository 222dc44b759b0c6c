"""A document is judged by the endpoint that received it: a claim batch sent where a check-in or a
medical assessment is expected is refused as a document of the wrong kind, never answered with
the receipt it got as a claim (duplicates are the same document asked the same thing)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.bootstrap import build
from gateway.config import Settings
from tests.conftest import HOSPITAL, TOKENS, Pki, Served
from tests.e2e.test_vss_portal import ACCOUNTS, claim_batch, legacy_partner_file, visit
from tests.support.batches import sign
from tests.support.checkin import checkin_xml
from tests.support.vss_portal_client import Table, VssPortalClient


@pytest.fixture
def portal(settings: Settings, pki: Pki) -> Iterator[VssPortalClient]:
    path = legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
    gateway = build(settings.model_copy(update={"partners": path}))
    username, password = ACCOUNTS[HOSPITAL]
    assert password is not None
    with (
        Served(gateway) as served,
        VssPortalClient(served.url, username, password, ma_tinh="01", ma_cskcb="01929") as client,
    ):
        assert client.take_token()["maKetQua"] == "200"
        yield client
    gateway.close()


def test_an_accepted_claim_batch_sent_as_another_kind_is_refused_not_a_duplicate(
    portal: VssPortalClient, pki: Pki
) -> None:
    batch = claim_batch(pki, [visit(41)])
    claimed = portal.send("claims", batch)
    assert claimed["maKetQua"] == "200"
    cases: list[tuple[Table, str]] = [
        ("checkin", "CHI_TIEU_TRANG_THAI_KCB"),
        ("assessment", "CHI_TIEU_GIAM_DINH_YKHOA"),
    ]
    for table, root in cases:
        answer = portal.send(table, batch)
        assert answer["maKetQua"] == "422", answer
        assert answer["thongDiep"].startswith("SCHEMA_INVALID")
        assert root in answer["thongDiep"] and "GIAMDINHHS" in answer["thongDiep"]
        assert answer["maGiaoDich"] != claimed["maGiaoDich"]
    # Asked the same thing again, it is the duplicate it always was.
    again = portal.send("claims", batch)
    assert (again["maKetQua"], again["maGiaoDich"]) == ("200", claimed["maGiaoDich"])


def test_a_new_claim_batch_sent_as_a_check_in_is_a_schema_error(
    portal: VssPortalClient, pki: Pki
) -> None:
    answer = portal.send("checkin", claim_batch(pki, [visit(42)]))
    assert answer["maKetQua"] == "422"
    assert answer["thongDiep"].startswith("SCHEMA_INVALID")  # not SIGNATURE_INVALID


def test_a_check_in_posted_as_a_claim_batch_names_the_expected_root(
    served: Served, pki: Pki
) -> None:
    check_in = sign(checkin_xml([visit(43)]), pki.hospital)
    answer = httpx.post(
        f"{served.url}/api/v1/claims",
        content=check_in,
        headers={"Content-Type": "application/xml", "Authorization": f"Bearer {TOKENS[HOSPITAL]}"},
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "SCHEMA_INVALID" and "GIAMDINHHS" in problem["detail"]
    assert problem["issues"][0]["path"] == "/CHI_TIEU_TRANG_THAI_KCB"
    assert problem["receipt_id"]  # refused as a whole, with a readable receipt
