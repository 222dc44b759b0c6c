"""What the DVCQG simulator refuses in a dossier or a progress step, and with which code."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from adapters.portal import dvcqg_protocol as p

Refusal = tuple[str, str]  # error_code, message


def _missing(item: dict[str, Any], names: Iterable[str]) -> Refusal | None:
    for name in names:
        if item.get(name) in (None, "", []):
            return p.Code.MISSING_FIELD, f"Thiếu trường bắt buộc: {name}"
    return None


def _dates(item: dict[str, Any], names: Iterable[str]) -> Refusal | None:
    for name in names:
        value = item.get(name)
        if value in (None, ""):
            continue
        try:
            if not isinstance(value, str) or len(value) != 14:
                raise ValueError(value)
            datetime.strptime(value, p.DATE_FORMAT)
        except ValueError:
            return p.Code.BAD_DATE, f"Sai định dạng ngày (yyyyMMddHHmmss): {name}"
    return None


def _lengths(item: dict[str, Any]) -> Refusal | None:
    for name, limit in p.MAX_LENGTH.items():
        value = item.get(name)
        if isinstance(value, str) and len(value) > limit:
            return p.Code.BAD_REQUEST, f"Trường {name} dài quá {limit} ký tự"
    return None


def _status(value: Any, name: str) -> Refusal | None:
    if str(value) not in p.STATUS_CODES:
        return p.Code.BAD_STATUS, f"{name} không hợp lệ: {value}"
    return None


def check_dossier(ho_so: Any) -> Refusal | None:
    """Why ``ho_so`` (one item of ``DongBoHoSoMC``'s ``data``) is refused, or None."""
    if not isinstance(ho_so, dict):
        return p.Code.BAD_REQUEST, "Dữ liệu hồ sơ không hợp lệ"
    refusal = (
        _missing(ho_so, p.DOSSIER_MANDATORY)
        or _dates(ho_so, p.DOSSIER_DATES)
        or _status(ho_so["TrangThaiHoSo"], "TrangThaiHoSo")
        or _lengths(ho_so)
    )
    if refusal:
        return refusal
    for name in ("DanhSachHoSoBoSung", "DanhSachGiayToKetQua", "TaiLieuNop", "DinhDanhCHS"):
        if not isinstance(ho_so.get(name, []), list):
            return p.Code.BAD_REQUEST, f"{name} phải là danh sách"
    for supplement in ho_so.get("DanhSachHoSoBoSung", []):
        refusal = _dates(supplement, p.SUPPLEMENT_DATES)
        for paper in supplement.get("DanhSachGiayToBoSung", []):
            refusal = refusal or _lengths(paper)
        if refusal:
            return refusal
    return None


def check_step(step: Any) -> Refusal | None:
    """Why ``step`` (one item of ``CapNhatTienDoHoSoMC``'s ``data``) is refused, or None."""
    if not isinstance(step, dict):
        return p.Code.BAD_REQUEST, "Dữ liệu tiến độ không hợp lệ"
    return (
        _missing(step, p.STEP_MANDATORY)
        or _dates(step, p.STEP_DATES)
        or _status(step["TrangThai"], "TrangThai")
        or _lengths(step)
    )
