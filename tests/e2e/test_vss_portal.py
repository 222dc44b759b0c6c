"""VSS receiving-portal compatibility over real HTTP, driven by a client written from CV 3190
(tests/support/vss_portal_client.py): token, check-in, claim batch, medical assessment."""

from __future__ import annotations

import base64
import functools
import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from adapters.hospital import synth
from gateway.api.vss_portal import MA_KET_QUA
from gateway.bootstrap import build
from gateway.cli import main as cli
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.legacy import legacy_password_hash
from gateway.trust.devpki import write_identity
from gateway.xml.ns import DS
from gateway.xml.parser import XmlLimits, parse
from tests.conftest import HOSPITAL, Pki, Served, counts, partner_file
from tests.support.assessment import assessment_xml
from tests.support.batches import batch_with, edit_xml1, sign
from tests.support.checkin import checkin_xml
from tests.support.vss_portal_client import Table, VssPortalClient, md5_upper
from tests.support.xmlsec_signer import xmlsec_sign

VIETNAM = timezone(timedelta(hours=7))
NOTHING = {"receipts": 0, "records": 0, "originals": 0}

# Legacy accounts added to the shared partner file: (partner id, username, password or None for
# a partner that has a username but no password hash, i.e. no complete legacy login).
ACCOUNTS = {
    HOSPITAL: ("01929_BV", "mat-khau-01929"),
    "elsewhere": ("01001_BV", "mat-khau-01001"),  # source_networks = 203.0.113.0/24
    "reader": ("reader_BV", "mat-khau-reader"),  # not granted claims.submit
    "hospital-79001": ("79001_BV", None),
}


@functools.cache
def _hash(password: str) -> str:
    return legacy_password_hash(md5_upper(password))


def legacy_partner_file(pki: Pki, path: Path) -> Path:
    """The shared partner file, with the legacy logins of ``ACCOUNTS``."""
    text = partner_file(pki, path).read_text(encoding="utf-8")
    for partner, (username, password) in ACCOUNTS.items():
        line = f'id = "{partner}"\n'
        assert line in text
        legacy = f'legacy_username = "{username}"\n'
        if password is not None:
            legacy += f'legacy_password_hash = "{_hash(password)}"\n'
        text = text.replace(line, line + legacy)
    path.write_text(text, encoding="utf-8")
    return path


class MovableClock:
    """The system clock, moved forward on demand."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def portal(settings: Settings, pki: Pki, clock: MovableClock) -> Iterator[Served]:
    path = legacy_partner_file(pki, settings.partners.with_name("partners-legacy.toml"))
    gateway = build(settings.model_copy(update={"partners": path}), clock=clock)
    with Served(gateway) as served:
        yield served
    gateway.close()


def hospital(
    served: Served, partner: str = HOSPITAL, *, password: str | None = None, facility: str = "01929"
) -> VssPortalClient:
    username, configured = ACCOUNTS[partner]
    return VssPortalClient(
        served.url,
        username,
        password or configured or "none",
        ma_tinh=facility[:2],
        ma_cskcb=facility,
    )


def logged_in(served: Served, partner: str = HOSPITAL, **kwargs: Any) -> VssPortalClient:
    client = hospital(served, partner, **kwargs)
    assert client.take_token()["maKetQua"] == "200"
    return client


def receipt(served: Served, receipt_id: str) -> dict[str, Any]:
    with served.client(HOSPITAL) as http:
        answer = http.get(f"/api/v1/receipts/{receipt_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def record(served: Served, record_id: str) -> dict[str, Any]:
    with served.client(HOSPITAL) as http:
        answer = http.get(f"/api/v1/claims/{record_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def visit(seed: int, facility: str = "01929") -> synth.Visit:
    day = date.today() - timedelta(days=10)
    return synth.make_visit(random.Random(seed), facility_code=facility, index=seed, day=day)


def claim_batch(pki: Pki, visits: list[synth.Visit]) -> bytes:
    return batch_with(pki.hospital, [synth.tables(v) for v in visits])


# --- Token ---------------------------------------------------------------------------------


def test_token_take_answers_the_guides_api_key(portal: Served) -> None:
    with hospital(portal) as client:
        raw = client.http.post(
            "/api/token/take",
            data={"username": "01929_BV", "password": md5_upper("mat-khau-01929")},
        )
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/json")
    body = raw.json()
    assert body["maKetQua"] == "200"
    key = body["APIKey"]
    assert list(key) == ["access_token", "id_token", "token_type", "username", "expires_in"]
    assert key["username"] == "01929_BV" and key["token_type"] == "Bearer"
    # Compact JSON in the guide's order: software that cuts the text at '"maKetQua"', ',' or ':'
    # instead of parsing it finds what it looks for; the tokens hold none of those characters.
    assert raw.text.startswith('{"maKetQua":"200","APIKey":{"access_token":"')
    assert not set(key["access_token"] + key["id_token"]) & set(',:"{} ')
    expires = datetime.strptime(key["expires_in"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)


def test_token_take_accepts_a_json_body_and_lower_case_md5(portal: Served) -> None:
    password = hashlib.md5(b"mat-khau-01929").hexdigest()  # MD5: the portal's scheme
    with httpx.Client(base_url=portal.url) as http:
        body = http.post("/api/token/take", json={"username": "01929_BV", "password": password})
    assert body.json()["maKetQua"] == "200"


@pytest.mark.parametrize(
    ("partner", "password"),
    [
        (HOSPITAL, "wrong password"),
        ("nobody", "mat-khau-01929"),  # unknown username
        ("hospital-79001", "anything"),  # a username but no legacy_password_hash
        ("elsewhere", None),  # right password, but asked from outside 203.0.113.0/24
    ],
    ids=["wrong-password", "unknown-user", "no-legacy-login", "outside-source-networks"],
)
def test_failed_login_answers_401_and_nothing_more(
    portal: Served, partner: str, password: str | None
) -> None:
    username, configured = ACCOUNTS.get(partner, ("nobody_BV", None))
    with VssPortalClient(
        portal.url, username, password or configured or "", ma_tinh="01", ma_cskcb="01929"
    ) as client:
        answer = client.take_token()
    assert answer == {"maKetQua": "401", "APIKey": None}
    assert counts(portal.gateway) == NOTHING


def test_repeated_failures_lock_the_username_for_a_while(portal: Served) -> None:
    for _ in range(10):
        with hospital(portal, password="guess") as client:
            assert client.take_token()["maKetQua"] == "401"
    with hospital(portal) as client:  # the right password no longer helps
        raw = client.http.post(
            "/api/token/take",
            data={"username": "01929_BV", "password": client.password_md5},
        )
    assert raw.json() == {"maKetQua": "429", "APIKey": None}
    assert 0 < int(raw.headers["retry-after"]) <= 300
    with hospital(portal, "reader") as other:  # other usernames are not affected
        assert other.take_token()["maKetQua"] == "200"


def test_stored_password_hash_is_salted_scrypt_of_the_md5() -> None:
    first, second = (legacy_password_hash(md5_upper("mat-khau")) for _ in range(2))
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert md5_upper("mat-khau") not in first
    with pytest.raises(ValueError, match="32 hex digits"):
        legacy_password_hash("mat-khau")  # the password itself, not its MD5


# --- Check-in and claim ----------------------------------------------------------------------


def test_check_in_then_claim_of_the_same_visit(portal: Served, pki: Pki) -> None:
    seen = visit(1)
    with logged_in(portal) as client:
        checked_in = client.send("checkin", sign(checkin_xml([seen]), pki.hospital))
        claimed = client.send("claims", claim_batch(pki, [seen]))
    for answer in (checked_in, claimed):
        assert answer["maKetQua"] == "200", answer
        assert list(answer) == ["maKetQua", "maGiaoDich", "thoiGianTiepNhan", "thongDiep"]
    records = []
    for answer in (checked_in, claimed):
        stored = receipt(portal, answer["maGiaoDich"])
        received = datetime.fromisoformat(stored["received_at"]).astimezone(VIETNAM)
        assert answer["thoiGianTiepNhan"] == f"{received:%Y%m%d%H%M%S}"
        assert stored["channel"] == "vss-portal" and stored["status"] == "accepted"
        assert [r["key"] for r in stored["results"]] == [seen.ma_lk]
        records.append(record(portal, stored["results"][0]["record_id"]))
    check_in, claim = records
    assert (check_in["kind"], claim["kind"]) == ("hi_checkin", "hi_claim")
    for stored in (check_in, claim):
        assert stored["source"] == {
            "partner_id": HOSPITAL,
            "channel": "vss-portal",
            "facility_code": "01929",
        }
        assert stored["original"]["item"] == seen.ma_lk
    assert check_in["original"]["format"] == "QD130-CHECKIN"
    payload = check_in["payload"]
    assert payload["visit"]["visit_key"] == seen.ma_lk
    assert payload["visit"]["arrived_at"] == claim["payload"]["visit"]["arrived_at"]
    assert payload["visit"]["arrived_at"].endswith("+07:00")
    assert payload["visit"]["care_type_code"] == seen.ma_loai_kcb
    assert payload["visit"]["facility_code"] == "01929"
    assert payload["cards"][0]["number"] == seen.ma_the_bhyt
    assert payload["first_cost"]["ordered_at"].endswith("+07:00")
    assert check_in["subject"]["hi_card_number"] == claim["subject"]["hi_card_number"]
    # The claim links back to the visit's check-in (the visit index, by facility and MA_LK).
    assert claim["payload"]["history"]["check_in"] == {
        "record_id": check_in["id"],
        "received_at": check_in["received_at"].replace("Z", "+00:00"),
    }
    assert counts(portal.gateway) == {"receipts": 2, "records": 2, "originals": 2}


def test_independently_signed_check_in_of_several_visits_is_accepted(
    portal: Served, pki: Pki
) -> None:
    document = xmlsec_sign(checkin_xml([visit(2), visit(3)]), pki.hospital)
    with logged_in(portal) as client:
        answer = client.send("checkin", document)
    assert answer["maKetQua"] == "200", answer
    assert "2/2" in answer["thongDiep"]
    assert counts(portal.gateway)["records"] == 2


def test_check_in_for_another_facility_is_refused(portal: Served, pki: Pki) -> None:
    document = sign(checkin_xml([visit(4, facility="79001")]), pki.hospital)
    with logged_in(portal) as client:
        answer = client.send("checkin", document)
    assert answer["maKetQua"] == "403"
    assert answer["thongDiep"].startswith("FORBIDDEN")
    assert counts(portal.gateway)["records"] == 0


def test_batch_with_a_rejected_visit_is_received_and_names_it(portal: Served, pki: Pki) -> None:
    good = synth.tables(visit(5))
    bad_visit = visit(6)
    bad = edit_xml1(
        synth.tables(bad_visit),
        lambda x: x.replace(b"<GIOI_TINH>1<", b"<GIOI_TINH>4<").replace(
            b"<GIOI_TINH>2<", b"<GIOI_TINH>4<"
        ),
    )
    with logged_in(portal) as client:
        answer = client.send("claims", batch_with(pki.hospital, [good, bad]))
    assert answer["maKetQua"] == "200"
    assert f"MA_LK {bad_visit.ma_lk}" in answer["thongDiep"]
    assert "SCHEMA_INVALID" in answer["thongDiep"] and "1/2" in answer["thongDiep"]
    assert receipt(portal, answer["maGiaoDich"])["status"] == "partially_accepted"


def test_batch_whose_every_visit_is_rejected_answers_the_first_code(
    portal: Served, pki: Pki
) -> None:
    bad = edit_xml1(
        synth.tables(visit(16)), lambda x: x.replace(b"<MA_CSKCB>01929<", b"<MA_CSKCB>01930<")
    )
    with logged_in(portal) as client:
        answer = client.send("claims", batch_with(pki.hospital, [bad]))
    assert answer["maKetQua"] == "403", answer
    assert "0/1" in answer["thongDiep"] and "FORBIDDEN" in answer["thongDiep"]
    assert receipt(portal, answer["maGiaoDich"])["status"] == "rejected"
    assert counts(portal.gateway) == {"receipts": 1, "records": 0, "originals": 0}


def test_unreadable_access_token_answers_401(portal: Served, pki: Pki) -> None:
    with logged_in(portal) as client:
        form = client.form("claims", claim_batch(pki, [visit(17)]))
        headers: dict[str, Any] = {**client.headers(), "accessToken": "é.é.é".encode("latin-1")}
        answer = client.http.post("/api/qd130/guiHoSoXmlQD130", data=form, headers=headers)
    assert answer.json()["maKetQua"] == "401"
    assert counts(portal.gateway) == NOTHING


def test_tampered_batch_answers_signature_invalid_with_a_readable_receipt(
    portal: Served, pki: Pki
) -> None:
    tampered = claim_batch(pki, [visit(7)]).replace(b"<SOLUONGHOSO>1<", b"<SOLUONGHOSO>2<")
    with logged_in(portal) as client:
        answer = client.send("claims", tampered)
    assert answer["maKetQua"] == "422"
    assert answer["thongDiep"].startswith("SIGNATURE_INVALID")
    rejection = receipt(portal, answer["maGiaoDich"])
    assert rejection["status"] == "rejected"
    assert rejection["error"]["code"] == "SIGNATURE_INVALID"
    assert counts(portal.gateway) == {"receipts": 1, "records": 0, "originals": 0}


def test_resubmission_answers_the_same_transaction(portal: Served, pki: Pki) -> None:
    document = claim_batch(pki, [visit(8), visit(9)])
    with logged_in(portal) as client:
        first = client.send("claims", document)
        stored = counts(portal.gateway)
        second = client.send("claims", document)
    assert first["maKetQua"] == second["maKetQua"] == "200"
    assert second["maGiaoDich"] == first["maGiaoDich"]
    assert second["thoiGianTiepNhan"] == first["thoiGianTiepNhan"]
    assert "duplicate" in second["thongDiep"]
    assert counts(portal.gateway) == stored


# --- Refusals ------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(token: str, how: str) -> str:
    header, payload, _ = token.split(".")
    if how == "other-key":
        key = ec.generate_private_key(ec.SECP256R1())
        der = key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{header}.{payload}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    if how == "alg-none":
        return f"{_b64url(orjson.dumps({'alg': 'none', 'typ': 'JWT'}))}.{payload}."
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "hospital-79001"  # another partner, keeping the signature
    return f"{header}.{_b64url(orjson.dumps(claims))}.{token.split('.')[2]}"


@pytest.mark.parametrize(
    "fault",
    [
        "no-headers",
        "other-key",
        "alg-none",
        "other-subject",
        "wrong-token-id",
        "wrong-password-hash",
        "wrong-username",
    ],
)
def test_bad_credentials_on_a_submission_answer_401_and_store_nothing(
    portal: Served, pki: Pki, fault: str
) -> None:
    document = claim_batch(pki, [visit(10)])
    with logged_in(portal) as client:
        headers, form = client.headers(), client.form("claims", document)
        if fault == "no-headers":
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        elif fault in ("other-key", "alg-none", "other-subject"):
            headers["accessToken"] = _forged(client.access_token, fault)
        elif fault == "wrong-token-id":
            headers["tokenId"] = "x" + client.id_token
        elif fault == "wrong-password-hash":
            headers["passwordHash"] = md5_upper("not the password")
        else:
            form["username"] = "79001_BV"
        answer = client.post("claims", form, headers)
    assert answer["maKetQua"] == "401", answer
    assert answer["thongDiep"].startswith("UNAUTHORIZED") and answer["maGiaoDich"] == ""
    assert counts(portal.gateway) == NOTHING


def test_expired_access_token_answers_401(portal: Served, pki: Pki, clock: MovableClock) -> None:
    with logged_in(portal) as client:
        clock.offset = timedelta(hours=1, minutes=1)
        answer = client.send("claims", claim_batch(pki, [visit(11)]))
    assert answer["maKetQua"] == "401"
    assert "expired" in answer["thongDiep"]
    assert counts(portal.gateway) == NOTHING


def test_facility_of_another_partner_answers_403(portal: Served, pki: Pki) -> None:
    with logged_in(portal, facility="79001") as client:
        answer = client.send("claims", claim_batch(pki, [visit(12)]))
    assert answer["maKetQua"] == "403"
    assert "maCSKCB=79001" in answer["thongDiep"]
    assert counts(portal.gateway) == NOTHING


def test_partner_not_granted_claims_submit_answers_403(portal: Served, pki: Pki) -> None:
    with logged_in(portal, "reader") as client:
        answer = client.send("claims", claim_batch(pki, [visit(13)]))
    assert answer["maKetQua"] == "403"
    assert counts(portal.gateway) == NOTHING


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fileHSBase64", None),
        ("fileHSBase64", "@@not base64@@"),
        ("fileHSBase64", base64.b64encode(b"<GIAMDINHHS>").decode()),
        ("loaiHoSo", "0"),
        ("maTinh", None),
        ("maCSKCB", None),
    ],
    ids=["no-file", "bad-base64", "not-xml", "wrong-loaiHoSo", "no-maTinh", "no-maCSKCB"],
)
def test_malformed_form_answers_400(
    portal: Served, pki: Pki, field: str, value: str | None
) -> None:
    with logged_in(portal) as client:
        form = client.form("claims", claim_batch(pki, [visit(14)]))
        if value is None:
            del form[field]
        else:
            form[field] = value
        answer = client.post("claims", form, client.headers())
    assert answer["maKetQua"] == "400", answer
    assert answer["thongDiep"].startswith("XML_MALFORMED")
    assert counts(portal.gateway)["records"] == 0


def test_field_names_are_matched_without_case_like_the_portal(portal: Served, pki: Pki) -> None:
    with logged_in(portal) as client:
        form = client.form("claims", claim_batch(pki, [visit(15)]))
        form["fileHsBase64"] = form.pop("fileHSBase64")
        form["maCsKCB"] = form.pop("maCSKCB")
        answer = client.post("claims", form, client.headers())
    assert answer["maKetQua"] == "200", answer


def test_every_spec_error_code_has_the_ma_ket_qua_of_its_http_status() -> None:
    def subclasses(cls: type[GatewayError]) -> Iterator[type[GatewayError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    codes = {sub.code: sub.status for sub in subclasses(GatewayError) if sub.code != "INTERNAL"}
    assert {code: MA_KET_QUA.get(code) for code in codes} == {
        code: str(status) for code, status in codes.items()
    }


# --- Medical assessment (table 12, CV 3190 I.4) -------------------------------------------------


def assessment(pki: Pki, rows: list[dict[str, str | None]], meeting: date) -> bytes:
    """A signed table-12 document of ``rows`` (tests/support/assessment.py)."""
    return sign(assessment_xml(rows, meeting=meeting), pki.hospital)


def test_medical_assessment_is_received_and_readable(portal: Served, pki: Pki) -> None:
    meeting = date.today() - timedelta(days=3)
    with logged_in(portal) as client:
        answer = client.send("assessment", assessment(pki, [{}, {}], meeting))
    assert answer["maKetQua"] == "200", answer
    assert list(answer) == ["maKetQua", "maGiaoDich", "thoiGianTiepNhan", "thongDiep"]
    assert answer["maGiaoDich"] and "2/2" in answer["thongDiep"]
    stored = receipt(portal, answer["maGiaoDich"])
    assert stored["channel"] == "vss-portal" and stored["status"] == "accepted"
    assert stored["format"] == "QD130-XML12/4750"
    # No MA_LK in table 12: a row is keyed by the council meeting and its entry in the minutes.
    assert [r["key"] for r in stored["results"]] == [f"{meeting:%Y%m%d}/15", f"{meeting:%Y%m%d}/16"]
    first = record(portal, stored["results"][0]["record_id"])
    assert first["kind"] == "hi_assessment"
    # The document names no facility; maCSKCB is checked against the partner, not recorded.
    assert first["source"] == {
        "partner_id": HOSPITAL,
        "channel": "vss-portal",
        "facility_code": None,
    }
    assert first["original"]["format"] == "QD130-XML12"
    assert first["original"]["item"] == f"{meeting:%Y%m%d}/15"
    assert first["subject"]["full_name"] == "Trần Thị Lan"
    assert first["subject"]["hi_card_number"] == "DN4010178012345"
    assert first["subject"]["si_number"] == "0178012345"
    assert first["payload"]["assessment"]["meeting_date"] == meeting.isoformat()
    assert first["payload"]["conclusion"]["impairment_percent"] == 21
    assert counts(portal.gateway) == {"receipts": 1, "records": 2, "originals": 1}


def test_tampered_medical_assessment_answers_signature_invalid(portal: Served, pki: Pki) -> None:
    signed = assessment(pki, [{}], date.today() - timedelta(days=3))
    tampered = signed.replace(b"<TYLE_TTCT_MOI>21<", b"<TYLE_TTCT_MOI>61<")
    assert tampered != signed
    with logged_in(portal) as client:
        answer = client.send("assessment", tampered)
    assert answer["maKetQua"] == "422"
    assert "SIGNATURE_INVALID" in answer["thongDiep"]
    assert receipt(portal, answer["maGiaoDich"])["status"] == "rejected"
    assert counts(portal.gateway) == {"receipts": 1, "records": 0, "originals": 0}


def test_schema_invalid_medical_assessment_answers_422(portal: Served, pki: Pki) -> None:
    document = assessment(pki, [{}, {"KET_QUA_KHAM": None}], date.today() - timedelta(days=3))
    with logged_in(portal) as client:
        answer = client.send("assessment", document)
        # A signed check-in sent as an assessment: a document of the wrong kind.
        check_in = client.send("assessment", sign(checkin_xml([visit(18)]), pki.hospital))
    assert answer["maKetQua"] == "422"
    assert answer["thongDiep"].startswith("SCHEMA_INVALID")
    assert "KET_QUA_KHAM" in answer["thongDiep"]
    assert (check_in["maKetQua"], check_in["thongDiep"][:14]) == ("422", "SCHEMA_INVALID")
    assert "CHI_TIEU_GIAM_DINH_YKHOA" in check_in["thongDiep"]
    assert counts(portal.gateway)["records"] == 0


def test_medical_assessment_row_with_an_impossible_date_is_named_by_its_key(
    portal: Served, pki: Pki
) -> None:
    meeting = date.today() - timedelta(days=3)
    document = assessment(pki, [{}, {"NGAY_CHUNG_TU": "20230229"}], meeting)
    with logged_in(portal) as client:
        answer = client.send("assessment", document)
    assert answer["maKetQua"] == "200", answer
    assert "1/2" in answer["thongDiep"]
    assert f"NGAY_HOP/SO_BIEN_BAN {meeting:%Y%m%d}/16 (#2): SCHEMA_INVALID" in answer["thongDiep"]
    assert receipt(portal, answer["maGiaoDich"])["status"] == "partially_accepted"
    assert counts(portal.gateway)["records"] == 1


# --- Documents signed with `gateway sign` -------------------------------------------------------


@pytest.mark.parametrize("table", ["checkin", "claims", "assessment"])
def test_each_format_signed_by_gateway_sign_is_accepted(
    portal: Served, pki: Pki, tmp_path: Path, table: Table
) -> None:
    seen = visit(30)
    unsigned = {
        "checkin": lambda: checkin_xml([seen]),
        "claims": lambda: synth.envelope("01929", [synth.tables(seen)], created=date.today()),
        "assessment": lambda: assessment_xml([{}]),
    }[table]()
    key, cert = tmp_path / "hospital.key.pem", tmp_path / "hospital.cert.pem"
    write_identity(pki.hospital, key, cert)
    (tmp_path / "unsigned.xml").write_bytes(unsigned)
    signed = tmp_path / "signed.xml"
    args = ["sign", str(tmp_path / "unsigned.xml"), str(signed), "--key", str(key)]
    assert cli([*args, "--cert", str(cert)]) == 0
    # Where the gateway looks for it: the root's CHUKYDONVI, as exporters put it.
    root = parse(signed.read_bytes(), XmlLimits())
    assert root.find(f"CHUKYDONVI/{{{DS}}}Signature") is not None
    with logged_in(portal) as client:
        answer = client.send(table, signed.read_bytes())
    assert answer["maKetQua"] == "200", answer
    assert receipt(portal, answer["maGiaoDich"])["status"] == "accepted"
