"""The DVCQG client against the simulator over HTTP: what the portal receives of a dossier's
changes, and what each kind of failure makes of a delivery."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest

from adapters.portal.simulator import Fault
from gateway.dossiers.changes import changes
from gateway.dossiers.lifecycle import State
from gateway.dossiers.ports import Delivery, Dossier, OutboxMessage
from tests.support.dvcqg import SimulatedPortal, simulated_portal
from tests.support.portal_dossiers import T0, UNIT, dossier, message, move, walk


@pytest.fixture
def sim() -> Iterator[SimulatedPortal]:
    with simulated_portal() as portal:
        yield portal


def first(d: Dossier) -> list[OutboxMessage]:
    """The messages of ``d``'s reception: its status, then its first progress step."""
    return [message(change) for change in changes(None, d, d.history[0])]


def test_every_change_of_a_dossier_reaches_the_portal_in_order(sim: SimulatedPortal) -> None:
    d = dossier()
    sink = sim.sink()
    assert [sink.deliver(message(c), d) for c in walk(d)] == [Delivery(ok=True)] * 14
    got = sim.portal.received()
    assert got.statuses == {d.ma_ho_so: ["1", "2", "4", "5", "4", "9", "10"]}
    assert [s["TrangThai"] for s in got.steps] == ["1", "2", "4", "5", "4", "9", "10"]
    assert got.calls["TraCuuHoSo"] == 7  # one lookup per status: create once, then update


def test_the_dossier_object_speaks_dvcqg(sim: SimulatedPortal) -> None:
    d = dossier()
    sink = sim.sink()
    for change in walk(d):
        sink.deliver(message(change), d)
    ho_so = sim.portal.received().dossiers[d.ma_ho_so]
    assert ho_so["MaHoSo"] == d.ma_ho_so
    assert (ho_so["MaTTHC"], ho_so["MaLinhVuc"]) == ("1.009104", "SOTHE")
    assert ho_so["TenTTHC"] == "Cấp lại thẻ bảo hiểm y tế do mất, hỏng"
    assert (ho_so["KenhThucHien"], ho_so["LoaiDoiTuong"], ho_so["HinhThuc"]) == ("2", "1", "0")
    assert ho_so["DinhDanhCHS"] == [{"LoaiDinhDanh": "1", "SoDinhDanh": "001090012345"}]
    assert ho_so["NgayTiepNhan"] == "20260302093000"  # 02:30 UTC is 09:30 in Hanoi
    assert ho_so["NgayHenTra"] == "20260318235959"  # moved by the supplement request
    assert ho_so["NgayKetThucXuLy"] == "20260302143000"  # finished at T0 + 5 h
    assert ho_so["NgayTra"] == "20260302153000"
    assert ho_so["TrangThaiHoSo"] == "10"


def test_a_supplement_request_carries_its_documents_and_both_due_dates(
    sim: SimulatedPortal,
) -> None:
    d = dossier()
    sink = sim.sink()
    for change in list(walk(d))[:8]:  # up to the supplement request
        sink.deliver(message(change), d)
    ho_so = sim.portal.received().dossiers[d.ma_ho_so]
    assert ho_so["TrangThaiHoSo"] == "5"
    [supplement] = ho_so["DanhSachHoSoBoSung"]
    assert supplement["DanhSachGiayToBoSung"] == [
        {"TenGiayTo": "Bản chụp CCCD hai mặt", "SoLuong": "1"}
    ]
    assert supplement["NoiDungBoSung"] == "Thiếu ảnh CCCD mặt sau"
    assert (supplement["NgayHenTraTruoc"], supplement["NgayHenTraMoi"]) == (
        "20260311235959",
        "20260318235959",
    )
    step = sim.portal.received().steps[-1]
    assert step["TrangThai"] == "5"
    assert step["NguoiXuLy"] == "Trần Thị Bình"
    assert "Bản chụp CCCD hai mặt" in step["NoiDungXuLy"]


def test_a_unit_is_applicant_type_2_without_a_personal_id(sim: SimulatedPortal) -> None:
    d = dossier(applicant=UNIT)
    assert sim.sink().deliver(first(d)[0], d).ok
    ho_so = sim.portal.received().dossiers[d.ma_ho_so]
    assert (ho_so["LoaiDoiTuong"], ho_so["SoGiayToChuHoSo"]) == ("2", "0101234567")
    assert "DinhDanhCHS" not in ho_so


def test_text_is_cut_to_the_lengths_dvcqg_takes(sim: SimulatedPortal) -> None:
    d = dossier()
    long = dataclasses.replace(d, applicant=dataclasses.replace(d.applicant, name="A" * 1200))
    sink = sim.sink()
    assert sink.deliver(first(long)[0], long).ok
    after, entry = move(long, State.ACCEPTED, "department", at=T0)
    entry = dataclasses.replace(entry, officer="B" * 80)
    assert sink.deliver(message(changes(long, after, entry)[1]), after).ok
    got = sim.portal.received()
    assert len(got.dossiers[d.ma_ho_so]["TrichYeuHoSo"]) == 1000
    assert got.steps[0]["NguoiXuLy"] == "B" * 50


def test_a_create_answered_already_exists_becomes_an_update(sim: SimulatedPortal) -> None:
    d = dossier()
    sim.portal.inject(Fault(kind="error_code", code="3", service="DongBoHoSoMC", times=1))
    delivery = sim.sink().deliver(first(d)[0], d)
    # The update found no dossier (the "exists" was injected): a failure to retry, named.
    assert (delivery.ok, delivery.retry) == (False, True)
    assert delivery.error is not None and delivery.error.startswith("error_code 6")
    assert sim.portal.received().calls["DongBoHoSoMC"] == 2


def test_a_slow_answer_is_a_failure_and_its_retry_is_not_a_duplicate(
    sim: SimulatedPortal,
) -> None:
    d = dossier()
    status, progress = first(d)
    sink = sim.sink(timeout=0.2)
    assert sink.deliver(status, d).ok
    sim.portal.inject(Fault(kind="delay", delay=0.6, times=1))
    delivery = sink.deliver(progress, d)
    assert (delivery.ok, delivery.retry) == (False, True)
    assert delivery.error is not None and "Timeout" in delivery.error
    assert sink.deliver(progress, d).ok
    assert len(sim.portal.received().steps) == 1  # done by the slow call, not again


def test_an_http_5xx_is_a_failure_to_retry(sim: SimulatedPortal) -> None:
    d = dossier()
    sim.portal.inject(Fault(kind="status", status=503, times=1))
    sink = sim.sink()
    assert sink.deliver(first(d)[0], d) == Delivery(ok=False, error="TraCuuHoSo: HTTP 503")
    assert sink.deliver(first(d)[0], d).ok


@pytest.mark.parametrize("code", ["2", "4", "5", "7"])
def test_an_error_code_that_cannot_succeed_is_not_retried(sim: SimulatedPortal, code: str) -> None:
    d = dossier()
    sim.portal.inject(Fault(kind="error_code", code=code, message="Dữ liệu sai", times=1))
    delivery = sim.sink().deliver(first(d)[0], d)
    assert delivery == Delivery(ok=False, error=f"error_code {code}: Dữ liệu sai", retry=False)


@pytest.mark.parametrize("code", ["99", "-1", "6"])
def test_other_error_codes_are_retried(sim: SimulatedPortal, code: str) -> None:
    d = dossier()
    sim.portal.inject(Fault(kind="error_code", code=code, message="Thành công", times=1))
    delivery = sim.sink().deliver(first(d)[0], d)
    # Never success by message text: "Thành công" with a non-zero code is a failure.
    assert (delivery.ok, delivery.retry) == (False, True)


def test_a_refused_session_is_logged_into_again_once(sim: SimulatedPortal) -> None:
    d = dossier()
    status, progress = first(d)
    sink = sim.sink()
    assert sink.deliver(status, d).ok
    sim.portal.expire_sessions()
    assert sink.deliver(progress, d).ok
    sim.portal.inject(Fault(kind="session", times=2))
    delivery = sink.deliver(message(progress.change), d)
    assert delivery.error is not None and delivery.error.startswith("error_code 1")
    assert delivery.retry


def test_wrong_credentials_are_a_failure_to_retry(sim: SimulatedPortal) -> None:
    d = dossier()
    delivery = sim.sink(password="wrong").deliver(first(d)[0], d)
    assert delivery == Delivery(ok=False, error="login refused: error_code 1")
    assert sim.portal.received().calls == {}


def test_a_portal_that_is_down_is_a_failure_to_retry() -> None:
    with simulated_portal(started=False) as sim:
        sim.server.port = 9  # discard: nothing listens on loopback
        d = dossier()
        delivery = sim.sink().deliver(first(d)[0], d)
    assert (delivery.ok, delivery.retry) == (False, True)
    assert delivery.error is not None and delivery.error.startswith("ConnectError")


def test_a_procedure_missing_from_the_catalogue_is_not_retried(sim: SimulatedPortal) -> None:
    d = dossier(procedure="NOT_A_PROCEDURE")
    delivery = sim.sink().deliver(first(d)[0], d)
    assert (delivery.ok, delivery.retry) == (False, False)
    assert sim.portal.received().calls == {}


def test_the_password_is_never_logged(
    sim: SimulatedPortal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    d = dossier()
    status, progress = first(d)
    sink = sim.sink()
    sink.deliver(status, d)
    sim.portal.expire_sessions()
    sink.deliver(progress, d)
    sim.portal.inject(Fault(kind="status", status=500))
    sink.deliver(progress, d)
    sim.sink(password=sim.password + "x").deliver(status, d)
    assert caplog.records  # httpx and the client did log
    assert sim.password not in caplog.text
    assert sim.password not in repr(sim.account())
