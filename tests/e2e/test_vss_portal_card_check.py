"""The HI card check of VSS's portal (``POST /api/egw/KQNhanLichSuKCB2024``, CV 1923 Phụ lục 03)
over real HTTP, driven by the client written from the guide (tests/support/vss_portal_client.py):
every result code the SI record decides, the history lists, the checking staff recorded, refusals
and the per-citizen limit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.api.vss_portal.answers import VIETNAM
from gateway.api.vss_portal.cardcheck import CardCheckAnswer
from gateway.bootstrap import Gateway, build
from gateway.config import Settings
from gateway.sirecords.ports import ClaimedTreatment
from tests.conftest import HOSPITAL, Pki, Served
from tests.e2e.test_vss_portal import MovableClock, hospital, legacy_partner_file, logged_in
from tests.support.sirecords import card, period, person, treatment
from tests.support.vss_portal_client import VssPortalClient

STAFF = {"ho_ten_cb": "Nguyễn Văn Tiếp Đón", "cccd_cb": "030181000123"}
# Lan: three cards (last year's, this year's, next one issued from tomorrow); Minh: one card
# valid this year; Hoa: only a card that has expired.
LAN, MINH, HOA = "001190012345", "079085000321", "048070000111"
OLD, CURRENT, NEXT = "DN4010100000001", "DN4010100000002", "DN4010100000003"
MINH_CARD, HOA_CARD = "HT3790200000001", "GD4480300000001"
FIELDS = list(CardCheckAnswer.__annotations__)


def today() -> date:
    return datetime.now(VIETNAM).date()


def seed(gateway: Gateway) -> None:
    now = today()
    this_year = date(now.year, 1, 1)
    records = gateway.si_records
    records.upsert(
        person(LAN),
        contributions=[period("2015-01")],
        cards=[
            card(OLD, valid_from=date(now.year - 1, 1, 1)),
            card(CURRENT, valid_from=this_year, valid_to=now + timedelta(days=30)),
            card(NEXT, valid_from=now + timedelta(days=1), valid_to=now + timedelta(days=400)),
        ],
    )
    records.upsert(
        person(MINH, full_name="TRẦN VĂN MINH", date_of_birth="1985", gender="male"),
        cards=[card(MINH_CARD, valid_from=this_year, registered_facility="79001")],
    )
    records.upsert(
        person(HOA, full_name="Lê Thị Hoa", date_of_birth="1970-02-03"),
        cards=[card(HOA_CARD, valid_from=date(now.year - 2, 1, 1))],
    )
    arrived = datetime.combine(now - timedelta(days=40), datetime.min.time(), UTC)
    visits = [treatment(arrived + timedelta(days=d), reason="3") for d in (0, 10)]
    records.record_treatments([ClaimedTreatment(LAN, t) for t in visits])


def grant_card_checks(path: Path) -> Path:
    """The hospital granted ``cards.check``; the read-only partner ("reader") is not."""
    text = path.read_text(encoding="utf-8")
    granted = 'services = ["claims.submit", "claims.read", "signals.read"]'
    assert text.count(granted) == 1
    path.write_text(text.replace(granted, granted[:-1] + ', "cards.check"]'), encoding="utf-8")
    return path


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def portal(settings: Settings, pki: Pki, clock: MovableClock) -> Iterator[Served]:
    path = grant_card_checks(
        legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
    )
    update = {"partners": path, "citizen_rate_limit": "5/min"}
    gateway = build(settings.model_copy(update=update), clock=clock)
    seed(gateway)
    with Served(gateway) as served:
        yield served
    gateway.close()


@pytest.fixture
def client(portal: Served) -> Iterator[VssPortalClient]:
    with logged_in(portal) as client:
        yield client


def check(
    client: VssPortalClient, number: str, name: str = "Nguyễn Thị Lan", born: str = "17/05/1990"
) -> dict[str, Any]:
    answer = client.check_card(number, name, born, **STAFF)
    assert list(answer) == FIELDS  # section 3's fields, whatever the outcome
    return answer


def day(at: date) -> str:
    return f"{at:%d/%m/%Y}"


def checks_table(served: Served) -> list[dict[str, Any]]:
    path = served.gateway.settings.store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM si_card_checks ORDER BY id")]


# --- What the SI record decides --------------------------------------------------------------


def test_valid_card_answers_000_with_the_card_and_both_histories(client: VssPortalClient) -> None:
    answer = check(client, MINH_CARD, "  trần  văn minh ", "1985")
    assert answer["maKetQua"] == "000", answer
    now = today()
    assert {k: answer[k] for k in FIELDS[2:20]} == {
        "maThe": MINH_CARD,
        "hoTen": "TRẦN VĂN MINH",
        "ngaySinh": "1985",
        "gioiTinh": "Nam",
        "diaChi": "",
        "maDKBD": "79001",
        "cqBHXH": "",
        "gtTheTu": f"01/01/{now.year}",
        "gtTheDen": f"31/12/{now.year}",
        "maKV": "",
        "ngayDu5Nam": "01/01/2020",
        "maSoBHXH": "0185000321",
        "maTheCu": "",
        "maTheMoi": MINH_CARD,
        "gtTheTuMoi": f"01/01/{now.year}",
        "gtTheDenMoi": f"31/12/{now.year}",
        "maDKBDMoi": "79001",
        "tenDKBDMoi": "",
    }
    assert answer["ghiChu"] == (
        "Thẻ còn giá trị sử dụng! Họ tên : TRẦN VĂN MINH, Ngày sinh: 1985, Giới tính : Nam! "
        f"(Nơi KCBBĐ: 79001; Hạn thẻ: 01/01/{now.year} - 31/12/{now.year}; "
        "Thời điểm đủ 5 năm liên tục: 01/01/2020)."
    )
    assert answer["dsLichSuKCB2018"] == []
    [checked] = answer["dsLichSuKT2018"]
    assert checked["userKT"] == "01929_BV" and checked["maLoi"] == "000"
    assert checked["thongBao"] == "Thông tin thẻ BHYT chính xác"
    assert abs(datetime.strptime(checked["thoiGianKT"], "%Y%m%d%H%M") - datetime.now()) < (
        timedelta(hours=8)
    )


def test_visits_newest_first_in_the_guides_format(client: VssPortalClient) -> None:
    answer = check(client, LAN)  # by citizen ID: the current card
    assert answer["maKetQua"] == "004" and answer["maThe"] == CURRENT, answer
    visits = answer["dsLichSuKCB2018"]
    assert len(visits) == 2
    first = visits[0]
    assert list(first) == [
        "maHoSo", "maCSKCB", "ngayVao", "ngayRa", "tenBenh", "tinhTrang", "kqDieuTri", "lyDoVV",
        "TEMP1", "TEMP2", "TEMP3", "TEMP4", "TEMP5",
    ]  # fmt: skip
    arrived = datetime.strptime(first["ngayVao"], "%Y%m%d%H%M")
    assert arrived > datetime.strptime(visits[1]["ngayVao"], "%Y%m%d%H%M")
    assert first["ngayVao"] == f"{arrived:%Y%m%d}0700"  # midnight UTC, in Vietnam time
    assert first["ngayRa"] == f"{arrived:%Y%m%d}1000"
    assert first["maCSKCB"] == "01929" and first["maHoSo"].startswith("01929-")
    assert first["tenBenh"] == "Nhiễm trùng đường hô hấp trên cấp"
    assert (first["kqDieuTri"], first["lyDoVV"]) == ("1", "3")
    assert (first["TEMP1"], first["TEMP2"]) == ("TA0001A", "Công ty TNHH Minh Phát")


@pytest.mark.parametrize(
    ("number", "code", "shown", "older"),
    [
        (OLD, "003", OLD, ""),  # expired, a newer card issued
        (CURRENT, "004", CURRENT, OLD),  # still valid, a newer card issued
        (NEXT, "010", NEXT, CURRENT),  # not valid yet
    ],
)
def test_cards_of_one_holder_answer_their_validity(
    client: VssPortalClient, number: str, code: str, shown: str, older: str
) -> None:
    answer = check(client, number)
    assert answer["maKetQua"] == code, answer
    assert (answer["maThe"], answer["maTheCu"], answer["maTheMoi"]) == (shown, older, NEXT)
    assert answer["gtTheTuMoi"] == day(today() + timedelta(days=1))
    assert len(answer["dsLichSuKCB2018"]) == 2


def test_expired_card_answers_010(client: VssPortalClient) -> None:
    answer = check(client, HOA_CARD, "LÊ THỊ HOA", "03021970")  # the sample's ddMMyyyy
    assert answer["maKetQua"] == "010", answer
    assert answer["ghiChu"].startswith("Thẻ BHYT hết giá trị sử dụng! (Hạn thẻ: 01/01/")


@pytest.mark.parametrize(
    ("number", "name", "born", "code"),
    [
        ("DN4019999999999", "Nguyễn Thị Lan", "17/05/1990", "050"),  # nobody holds it
        ("001199999999", "Nguyễn Thị Lan", "17/05/1990", "050"),  # an unknown citizen ID
        ("DN40101", "Nguyễn Thị Lan", "17/05/1990", "051"),
        ("DN4039999999999", "Nguyễn Thị Lan", "17/05/1990", "052"),  # 03: no province
        ("DN6019999999999", "Nguyễn Thị Lan", "17/05/1990", "053"),  # 6: no benefit level
        ("QN5010000000001", "Nguyễn Thị Lan", "17/05/1990", "001"),
        ("CA5010000000001", "Nguyễn Thị Lan", "17/05/1990", "002"),
        (CURRENT, "Trần Thị Lan", "17/05/1990", "060"),
        (CURRENT, "Nguyễn Thị Lanh", "17/05/1990", "061"),
        (CURRENT, "Nguyễn Thị Lan", "18/05/1990", "070"),
        (CURRENT, "Nguyễn Thị Lan", "1991", "070"),
    ],
)
def test_what_does_not_identify_the_holder_shows_nothing_of_the_record(
    client: VssPortalClient, number: str, name: str, born: str, code: str
) -> None:
    answer = check(client, number, name, born)
    assert answer["maKetQua"] == code, answer
    assert answer["ghiChu"]
    assert all(answer[k] == "" for k in FIELDS[2:20])
    assert answer["dsLichSuKCB2018"] == answer["dsLichSuKT2018"] == []


# --- The staff recorded, the audit -----------------------------------------------------------


def test_every_check_records_its_staff_and_is_audited(
    portal: Served, client: VssPortalClient
) -> None:
    check(client, CURRENT)
    check(client, "DN4019999999999")
    check(client, CURRENT, "Trần Thị Lan")
    rows = checks_table(portal)
    assert [r["code"] for r in rows] == ["004", "050", "060"]
    first = rows[0]
    assert (first["partner_id"], first["facility"], first["account"]) == (
        HOSPITAL,
        "01929",
        "01929_BV",
    )
    assert (first["staff_name"], first["staff_id"]) == (STAFF["ho_ten_cb"], STAFF["cccd_cb"])
    assert first["card"] == "************002"
    assert all(CURRENT not in str(row.values()) for row in rows)  # keyed and masked only
    assert rows[0]["card_key"] == rows[2]["card_key"] != rows[1]["card_key"]

    events = [e.event() for e in portal.gateway.audit.log.entries()]
    assert [(e.partner, e.action, e.target, e.result) for e in events] == [
        (HOSPITAL, "card.check", "card:************002", "ok"),
        (HOSPITAL, "card.check", "card:************999", "not_found"),
        (HOSPITAL, "card.check", "card:************002", "denied"),
    ]
    # The card's check history: the checks of that card, newest first, by any facility.
    answer = check(client, CURRENT)
    assert [c["maLoi"] for c in answer["dsLichSuKT2018"]] == ["004", "060", "004"]


def test_checks_are_deleted_after_the_retention(
    portal: Served, client: VssPortalClient, clock: MovableClock
) -> None:
    check(client, CURRENT)
    retention = portal.gateway.settings.card_check_retention_days
    clock.offset = timedelta(days=retention, hours=2)
    client.take_token()  # the old token has expired
    answer = check(client, MINH_CARD, "TRẦN VĂN MINH", "1985")
    assert answer["maKetQua"] == "010", answer  # a year later, this year's card has expired
    assert [r["code"] for r in checks_table(portal)] == ["010"]  # the first check is gone


# --- Refusals ----------------------------------------------------------------------------------


BODY = {
    "maThe": MINH_CARD,
    "hoTen": "TRẦN VĂN MINH",
    "ngaySinh": "1985",
    "hoTenCb": STAFF["ho_ten_cb"],
    "cccdCb": STAFF["cccd_cb"],
}


def test_without_credentials_answers_401(portal: Served) -> None:
    with hospital(portal) as client:
        answer = client.post_card_check(BODY, {})
    assert answer["maKetQua"] == "401" and list(answer) == FIELDS
    assert "UNAUTHORIZED" in answer["ghiChu"] and answer["maThe"] == ""
    assert checks_table(portal) == []


def test_credentials_as_cv3190_headers_or_in_the_body_are_taken(client: VssPortalClient) -> None:
    headers = {
        "accessToken": client.access_token,
        "tokenId": client.id_token,
        "passwordHash": client.password_md5,
    }
    assert client.post_card_check(BODY, {}, **headers)["maKetQua"] == "000"
    account = {"username": client.username, "password": client.password_md5}
    assert client.post_card_check(BODY | account, {}, **headers)["maKetQua"] == "000"
    mixed = client.credentials() | {"password": "0" * 32}  # not the one in the header
    assert client.post_card_check(BODY, mixed, **headers)["maKetQua"] == "401"


def test_another_hospitals_token_answers_401(portal: Served, client: VssPortalClient) -> None:
    with logged_in(portal, "reader") as other:
        # Its token with this hospital's account, and its own account, not granted the check.
        stolen = client.credentials() | {"token": other.access_token, "id_token": other.id_token}
        assert client.post_card_check(BODY, stolen)["maKetQua"] == "401"
        answer = other.post_card_check(BODY, other.credentials())
    assert answer["maKetQua"] == "401" and "FORBIDDEN" in answer["ghiChu"], answer
    assert checks_table(portal) == []


@pytest.mark.parametrize(
    "change",
    [
        {"cccdCb": ""},
        {"cccdCb": "03018100012"},
        {"hoTenCb": " "},
        {"ngaySinh": "1985-01-01"},
        {"ngaySinh": "31/02/1985"},
        {"maThe": ""},
        {"hoTen": "A" * 300},  # over the field's bound
        {"ghiChu": "x"},  # a field the request does not have
    ],
    ids=lambda change: next(iter(change)),
)
def test_malformed_request_answers_205(
    portal: Served, client: VssPortalClient, change: dict[str, str]
) -> None:
    answer = client.post_card_check(BODY | change, client.credentials())
    assert answer["maKetQua"] == "205", answer
    assert answer["ghiChu"].startswith("Lỗi sai định dạng tham số.")
    assert checks_table(portal) == []


def test_per_citizen_limit_answers_429_with_retry_after(client: VssPortalClient) -> None:
    for _ in range(5):  # citizen_rate_limit 5/min
        assert check(client, CURRENT)["maKetQua"] == "004"
    answer = check(client, LAN)  # the same citizen, by ID
    assert answer["maKetQua"] == "429" and "RATE_LIMITED" in answer["ghiChu"], answer
    assert client.retry_after is not None and 1 <= int(client.retry_after) <= 12
    assert check(client, MINH_CARD, "TRẦN VĂN MINH", "1985")["maKetQua"] == "000"
