"""The gateway's neutral outbox messages in DVCQG's words: a ``hoSo`` object or a progress step.

Pure functions of a message's ``change.body`` (``gateway/dossiers/changes.py``), the dossier and
the status table: field names verbatim from ``reference/DOSSIERS.md`` 2a, dates ``yyyyMMddHHmmss``
in Vietnam time, codes as strings, text cut to the lengths DVCQG takes (2d).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from adapters.portal import dvcqg_protocol as p
from adapters.portal.procedures import CATALOGUE
from adapters.portal.statuses import StatusTable
from gateway.dossiers.calendar import VIETNAM
from gateway.dossiers.lifecycle import State
from gateway.dossiers.ports import Dossier

ONLINE = "2"  # KenhThucHien: trực tuyến, every dossier comes through the portal
NOT_BY_POST = "0"  # HinhThuc: the result is not returned by post
APPLICANT_TYPE = {"citizen": "1", "unit": "2"}  # LoaiDoiTuong: công dân / doanh nghiệp
PERSONAL_ID = "1"  # DinhDanhCHS.LoaiDinhDanh: 12-digit personal ID number (CCCD)


class Unmappable(ValueError):
    """The message cannot be said in DVCQG's words (a procedure missing from the catalogue):
    sending it again cannot help."""


@dataclass(frozen=True)
class Wording:
    """What the words of a message depend on besides the message: the status table and the
    agency's contact phone (``SoDienThoai``; the dossier does not carry the applicant's)."""

    statuses: StatusTable
    contact_phone: str


def when(iso: str) -> str:
    """An ISO 8601 instant as DVCQG's ``yyyyMMddHHmmss`` in Vietnam time."""
    return datetime.fromisoformat(iso).astimezone(VIETNAM).strftime(p.DATE_FORMAT)


def day_end(iso: str) -> str:
    """An ISO date as its last second in Vietnam: a due date is met all through that day."""
    return datetime.combine(date.fromisoformat(iso), time(23, 59, 59)).strftime(p.DATE_FORMAT)


def cut(value: str, name: str) -> str:
    return value[: p.MAX_LENGTH[name]]


def _supplement(body: dict[str, Any], step: dict[str, Any], dossier: Dossier) -> dict[str, Any]:
    previous = body["previous_due_date"] or body["due_date"]
    return {
        "HoSoBoSungId": f"{dossier.id}-{when(step['at'])}",
        "NguoiYeuCauBoSung": cut(step["officer"] or step["by"], "NguoiXuLy"),
        "NoiDungBoSung": step["reason"] or "Yêu cầu bổ sung giấy tờ",
        "NgayBoSung": when(step["at"]),
        "DanhSachGiayToBoSung": [
            {"TenGiayTo": cut(name, "TenGiayTo"), "SoLuong": "1"}
            for name in body["requested_documents"]
        ],
        "NgayHenTraTruoc": day_end(previous),
        "NgayHenTraMoi": day_end(body["due_date"]),
    }


def dossier_object(body: dict[str, Any], dossier: Dossier, wording: Wording) -> dict[str, Any]:
    """The ``hoSo`` of ``DongBoHoSoMC`` for a ``status`` message."""
    procedure = CATALOGUE.get(body["procedure"])
    if procedure is None:
        raise Unmappable(f"procedure {body['procedure']} is not in the catalogue")
    applicant, step, state = body["applicant"], body["step"], State(body["state"])
    ho_so: dict[str, Any] = {
        "MaHoSo": dossier.ma_ho_so,
        "MaTTHC": body["ma_tthc"],
        "TenTTHC": procedure.name,
        "MaLinhVuc": procedure.domain_code,
        "TenLinhVuc": procedure.domain_name,
        "KenhThucHien": ONLINE,
        "ChuHoSo": applicant["name"],
        "SoGiayToChuHoSo": applicant["id"],
        "LoaiDoiTuong": APPLICANT_TYPE[applicant["kind"]],
        "SoDienThoai": wording.contact_phone,
        "TrichYeuHoSo": cut(f"{procedure.name} - {applicant['name']}", "TrichYeuHoSo"),
        "NgayTiepNhan": when(body["received_at"]),
        "NgayHenTra": day_end(body["due_date"]),
        "TrangThaiHoSo": wording.statuses.code(state),
        "HinhThuc": NOT_BY_POST,
        "DonViXuLy": body["department"],
    }
    if applicant["kind"] == "citizen":
        ho_so["DinhDanhCHS"] = [{"LoaiDinhDanh": PERSONAL_ID, "SoDinhDanh": applicant["id"]}]
    if body["finished_at"]:
        ho_so["NgayKetThucXuLy"] = when(body["finished_at"])
    if state is State.REFUSED:
        ho_so["NgayTuChoi"] = when(step["at"])
    if state is State.RESULT_DELIVERED:
        ho_so["NgayTra"] = when(step["at"])
    if step["reason"]:
        ho_so["GhiChu"] = step["reason"]
    if state is State.SUPPLEMENT_REQUESTED:
        ho_so["DanhSachHoSoBoSung"] = [_supplement(body, step, dossier)]
    return ho_so


def progress_step(step: dict[str, Any], dossier: Dossier, wording: Wording) -> dict[str, Any]:
    """The step of ``CapNhatTienDoHoSoMC`` for a ``progress`` message (a reminder included)."""
    state = State(step["state"])
    documents = "; ".join(step["documents"])
    if step.get("reminder"):
        words = f"{wording.statuses.reminder}: {documents}"
        if step["due_date"]:
            words += f" (hạn bổ sung {date.fromisoformat(step['due_date']):%d/%m/%Y})"
        due = dossier.due_date.isoformat()
    else:
        words = wording.statuses.step(state)
        if step["reason"]:
            words += f": {step['reason']}"
        if documents:
            words += f". Giấy tờ cần bổ sung: {documents}"
        due = step["due_date"] or dossier.due_date.isoformat()
    return {
        "MaHoSo": dossier.ma_ho_so,
        "NguoiXuLy": cut(step["officer"] or step["by"], "NguoiXuLy"),
        "ThoiDiemXuLy": when(step["at"]),
        "PhongBanXuLy": dossier.department,
        "NoiDungXuLy": words,
        "TrangThai": wording.statuses.code(state),
        "NgayKetThucTheoQuyDinh": day_end(due),
    }
