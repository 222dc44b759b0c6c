"""The DVCQG simulator over HTTP: its login, its sync services, their error codes, its faults and
its idempotency keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.dvcqg import AGENCY, AUTH, INTEGRATION, USERNAME, SimulatedPortal
from tests.support.dvcqg import simulated_portal as _simulated_portal


def ho_so(**changes: Any) -> dict[str, Any]:
    fields = {
        "MaHoSo": "000.00.12.G24-260302-00001",
        "MaTTHC": "1.009104",
        "TenTTHC": "Cấp lại thẻ bảo hiểm y tế do mất, hỏng",
        "MaLinhVuc": "SOTHE",
        "TenLinhVuc": "Lĩnh vực cấp sổ bảo hiểm xã hội, thẻ bảo hiểm y tế",
        "LoaiDoiTuong": "1",
        "SoDienThoai": "19009068",
        "TrichYeuHoSo": "Cấp lại thẻ BHYT - Nguyễn Văn An",
        "NgayTiepNhan": "20260302093000",
        "NgayHenTra": "20260311235959",
        "TrangThaiHoSo": "1",
        "HinhThuc": "0",
        "DonViXuLy": "book-and-card",
    }
    return {**fields, **changes}


def step(**changes: Any) -> dict[str, Any]:
    fields = {
        "MaHoSo": "000.00.12.G24-260302-00001",
        "NguoiXuLy": "Trần Thị Bình",
        "ThoiDiemXuLy": "20260302103000",
        "NoiDungXuLy": "Hồ sơ được tiếp nhận",
        "TrangThai": "2",
    }
    return {**fields, **changes}


class Caller:
    """A bare client of the simulator: logs in, then calls services."""

    def __init__(self, sim: SimulatedPortal) -> None:
        self.http = httpx.Client(base_url=sim.server.url, timeout=5)
        self.session = self.login(USERNAME, sim.password)["session"]

    def login(self, username: str, password: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.post(
            AUTH, json={"username": username, "password": password}
        ).json()
        return answer

    def call(self, service: str, key: str | None = None, **params: Any) -> dict[str, Any]:
        body = {"session": self.session, "madonvi": AGENCY, "service": service, **params}
        headers = {"Idempotency-Key": key} if key else {}
        answer: dict[str, Any] = self.http.post(INTEGRATION, json=body, headers=headers).json()
        return answer

    def sync(self, *items: dict[str, Any], updating: bool = False, key: str | None = None) -> str:
        isupdating = "True" if updating else "False"
        answer = self.call("DongBoHoSoMC", key, isUpdating=isupdating, data=list(items))
        return str(answer["error_code"])

    def progress(self, *steps: dict[str, Any], key: str | None = None) -> str:
        return str(self.call("CapNhatTienDoHoSoMC", key, data=list(steps))["error_code"])


@pytest.fixture
def sim() -> Iterator[SimulatedPortal]:
    with _simulated_portal() as portal:
        yield portal


@pytest.fixture
def caller(sim: SimulatedPortal) -> Caller:
    return Caller(sim)


def test_login_with_the_right_credentials_opens_a_session(sim: SimulatedPortal) -> None:
    answer = Caller(sim).login(USERNAME, sim.password)
    assert answer["error_code"] == 0
    assert answer["session"]


def test_login_with_a_wrong_password_is_refused(caller: Caller) -> None:
    answer = caller.login(USERNAME, "not-the-password")
    assert answer["error_code"] != 0
    assert "session" not in answer


def test_an_unknown_session_is_refused(caller: Caller) -> None:
    caller.session = "forged"
    assert caller.sync(ho_so()) == "1"


def test_expired_sessions_are_refused(sim: SimulatedPortal, caller: Caller) -> None:
    sim.portal.expire_sessions()
    assert caller.sync(ho_so()) == "1"


def test_another_agency_is_refused(caller: Caller) -> None:
    answer = caller.http.post(
        INTEGRATION,
        json={"session": caller.session, "madonvi": "000.00.99.H99", "service": "TraCuuHoSo"},
    ).json()
    assert answer["error_code"] == "7"


def test_a_dossier_is_created_then_updated_and_looked_up(
    sim: SimulatedPortal, caller: Caller
) -> None:
    assert caller.call("TraCuuHoSo", mahoso=ho_so()["MaHoSo"]) == {
        "error_code": "0",
        "message": "Thành công",
        "result": [],
    }
    assert caller.sync(ho_so()) == "0"
    assert caller.sync(ho_so(TrangThaiHoSo="2"), updating=True) == "0"
    found = caller.call("TraCuuHoSo", mahoso=ho_so()["MaHoSo"])
    assert found["result"][0]["TrangThaiHoSo"] == "2"
    assert sim.portal.received().statuses == {ho_so()["MaHoSo"]: ["1", "2"]}


def test_creating_an_existing_dossier_answers_3_already_exists(caller: Caller) -> None:
    assert caller.sync(ho_so()) == "0"
    answer = caller.call("DongBoHoSoMC", isUpdating="False", data=[ho_so()])
    assert answer["error_code"] == "3"
    assert "đã tồn tại" in answer["message"]


def test_updating_an_unknown_dossier_is_refused(caller: Caller) -> None:
    assert caller.sync(ho_so(), updating=True) == "6"


@pytest.mark.parametrize("name", ["MaHoSo", "TenTTHC", "SoDienThoai", "NgayHenTra", "DonViXuLy"])
def test_a_missing_mandatory_field_answers_2(caller: Caller, name: str) -> None:
    item = ho_so()
    del item[name]
    assert caller.sync(item) == "2"
    assert caller.sync(ho_so(**{name: ""})) == "2"


@pytest.mark.parametrize(
    "value", ["2026-03-02", "02/03/2026 09:30", "20261302093000", 20260302093000]
)
def test_a_bad_date_answers_4(caller: Caller, value: object) -> None:
    assert caller.sync(ho_so(NgayTiepNhan=value)) == "4"


def test_a_bad_date_in_a_supplement_request_answers_4(caller: Caller) -> None:
    supplement = {"NgayHenTraTruoc": "20260311235959", "NgayHenTraMoi": "2026-03-18"}
    assert caller.sync(ho_so(TrangThaiHoSo="5", DanhSachHoSoBoSung=[supplement])) == "4"


@pytest.mark.parametrize("status", ["0", "11", "x"])
def test_an_unknown_status_answers_5(caller: Caller, status: str) -> None:
    assert caller.sync(ho_so(TrangThaiHoSo=status)) == "5"
    assert caller.sync(ho_so()) == "0"
    assert caller.progress(step(TrangThai=status)) == "5"


def test_a_field_over_its_length_is_refused(caller: Caller) -> None:
    assert caller.sync(ho_so(TrichYeuHoSo="x" * 1001)) == "7"


def test_progress_steps_are_kept_in_arrival_order(sim: SimulatedPortal, caller: Caller) -> None:
    assert caller.sync(ho_so()) == "0"
    assert caller.progress(step(TrangThai="2"), step(TrangThai="4")) == "0"
    assert caller.progress(step(TrangThai="9")) == "0"
    assert [s["TrangThai"] for s in sim.portal.received().steps] == ["2", "4", "9"]


def test_progress_takes_at_most_10_steps_of_known_dossiers(caller: Caller) -> None:
    assert caller.progress(step()) == "6"
    assert caller.sync(ho_so()) == "0"
    assert caller.progress(*[step()] * 11) == "7"
    assert caller.progress(*[step()] * 10) == "0"


def test_a_spent_idempotency_key_gets_the_first_answer_and_changes_nothing(
    sim: SimulatedPortal, caller: Caller
) -> None:
    assert caller.sync(ho_so()) == "0"
    assert caller.progress(step(), key="msg-7") == "0"
    assert caller.progress(step(), key="msg-7") == "0"
    assert caller.progress(step(), key="msg-8") == "0"
    assert len(sim.portal.received().steps) == 2


def test_a_failed_call_does_not_spend_its_key(sim: SimulatedPortal, caller: Caller) -> None:
    assert caller.sync(ho_so(), updating=True, key="msg-1") == "6"
    assert caller.sync(ho_so(), key="msg-1") == "0"
    assert sim.portal.received().statuses == {ho_so()["MaHoSo"]: ["1"]}


def test_faults_are_injected_over_http_for_n_calls_then_clear(caller: Caller) -> None:
    caller.http.post("/_simulator/faults", json={"kind": "error_code", "code": "99", "times": 2})
    assert caller.sync(ho_so()) == "99"
    assert caller.sync(ho_so()) == "99"
    assert caller.sync(ho_so()) == "0"


def test_an_http_error_fault_lasts_until_reset(caller: Caller) -> None:
    caller.http.post("/_simulator/faults", json={"kind": "status", "status": 502})
    body = {"session": caller.session, "madonvi": AGENCY, "service": "TraCuuHoSo"}
    assert caller.http.post(INTEGRATION, json=body).status_code == 502
    assert caller.http.post(INTEGRATION, json=body).status_code == 502
    caller.http.delete("/_simulator/faults")
    assert caller.http.post(INTEGRATION, json=body).status_code == 200


def test_a_fault_of_one_service_spares_the_others(caller: Caller) -> None:
    caller.http.post(
        "/_simulator/faults", json={"kind": "session", "service": "CapNhatTienDoHoSoMC"}
    )
    assert caller.sync(ho_so()) == "0"
    assert caller.progress(step()) == "1"


def test_what_was_received_is_shown_over_http(caller: Caller) -> None:
    caller.sync(ho_so())
    caller.progress(step())
    received = caller.http.get("/_simulator/received").json()
    assert received["statuses"] == {ho_so()["MaHoSo"]: ["1"]}
    assert received["steps"] == [step()]
    assert received["dossiers"][ho_so()["MaHoSo"]] == ho_so()
