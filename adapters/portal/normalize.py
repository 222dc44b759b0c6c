"""A verified dossier's forms read into its payload (``payload.DossierPayload``) and the subject
it is about. Dates dd/MM/yyyy become ISO 8601; a date that does not exist is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from lxml import etree

from adapters.portal import payload as p
from adapters.portal.envelope import HOSO_PATH, Envelope
from adapters.portal.forms import ReadForm
from adapters.portal.procedures import Procedure
from gateway.dossiers.ports import Applicant
from gateway.errors import Issue, RuleViolation
from gateway.records.model import Gender, Subject
from gateway.xml.tree import children

_GENDERS: dict[str, Gender] = {"1": "male", "2": "female", "3": "undetermined"}


Fields = dict[str, etree._Element]  # a node's children by tag (``gateway.xml.tree.children``)


def _text(fields: Fields, tag: str) -> str | None:
    child = fields.get(tag)
    value = "" if child is None else (child.text or "").strip()
    return value or None


def _req(fields: Fields, tag: str) -> str:
    return _text(fields, tag) or ""  # required by the form's XSD


def _iso_text(text: str) -> str:
    """dd/MM/yyyy, MM/yyyy or yyyy (as the XSDs let through) as ISO 8601, or ``ValueError``."""
    parts = [int(x) for x in reversed(text.split("/"))]
    year, month, day = (*parts, 1, 1)[:3]
    date(year, month, day)
    return "-".join(f"{n:02d}" for n in parts)


def _not_a_date(text: str, *, table: str, path: str) -> RuleViolation:
    message = f"{text!r} is not a date"
    return RuleViolation(
        message, issues=[Issue(message, rule="DOSSIER.DATE", table=table, path=path)]
    )


def _iso(fields: Fields, tag: str) -> str | None:
    element = fields.get(tag)
    text = "" if element is None else (element.text or "").strip()
    if element is None or not text:
        return None
    try:
        return _iso_text(text)
    except ValueError as exc:  # the path is only worked out for the error
        tree = element.getroottree()
        raise _not_a_date(text, table=str(tree.getroot().tag), path=tree.getpath(element)) from exc


def _iso_req(fields: Fields, tag: str) -> str:
    return _iso(fields, tag) or ""


def _int(fields: Fields, tag: str) -> int | None:
    text = _text(fields, tag)
    return None if text is None else int(text)


def _person(f: Fields, *, name: str = "HoTen", si: str = "MaSoBHXH") -> dict[str, Any]:
    return {
        "full_name": _req(f, name),
        "date_of_birth": _iso_req(f, "NgaySinh"),
        "gender": _GENDERS[_req(f, "GioiTinh")],
        "si_number": _text(f, si),
        "citizen_id": _text(f, "SoCCCD"),
    }


def _member(f: Fields) -> dict[str, Any]:
    return {**_person(f, si="MasoBHXH"), "citizen_id": _text(f, "CMND")}


def _household(annex: Fields) -> dict[str, Any]:
    members = annex.get("DSThanhVien")
    return {
        "head_name": _req(annex, "Hoten_Chuho"),
        "household_code": _text(annex, "Maso_HoGiadinh"),
        "address": _text(annex, "Diachi_HK"),
        "members": [
            {**_member(children(m)), "relationship": _text(children(m), "MoiQuanHe")}
            for m in ([] if members is None else members.iterchildren("ThanhVien"))
        ],
    }


def _participant(row: Fields) -> dict[str, Any]:
    annex = row.get("PhuLuc")
    return {
        **_member(row),
        "nationality": _text(row, "QuocTich"),
        "ethnicity": _text(row, "DanToc"),
        "phone": _text(row, "Dienthoai_LH"),
        "email": _text(row, "Email_LH"),
        "contribution_vnd": _text(row, "Mucdong"),
        "payment_method": _text(row, "Phuongthuc"),
        "hi_facility": _text(row, "MaBenhVien"),
        "change_requested": _text(row, "Noidung_Thaydoi"),
        "household": None if annex is None else _household(children(annex)),
    }


def _rows(root: etree._Element) -> list[Fields]:
    return [children(row) for row in _content(root).iterchildren("LaoDong")]


def _participants(root: etree._Element) -> dict[str, Any]:
    return {"participants": [_participant(row) for row in _rows(root)]}


def _workers(root: etree._Element) -> dict[str, Any]:
    rows = [
        {
            "full_name": _req(row, "Hoten"),
            "si_number": _text(row, "Masobhxh"),
            "citizen_id": _text(row, "soCCCD"),
            "plan": _req(row, "phuongAn"),
            "salary_vnd": _text(row, "tienLuong"),
            "from_month": _iso_req(row, "tuThang"),
            "to_month": _iso(row, "denThang"),
            "position": _text(row, "chucVu"),
        }
        for row in _rows(root)
    ]
    return {"workers": rows}


def _content(root: etree._Element) -> etree._Element:
    return children(root)["NoiDung"]  # required by every form's XSD


def _benefit_claim(root: etree._Element) -> dict[str, Any]:
    c = children(_content(root))
    event, account = children(c["SuKien"]), children(c["TaiKhoan"])
    return {
        "benefit_claim": {
            "benefit": _req(c, "LoaiCheDo"),
            "beneficiary": _person(children(c["NguoiHuong"])),
            "event_date": _iso_req(event, "NgayXayRa"),
            "event_description": _text(event, "MoTa"),
            "period_from": _iso_req(c, "TuNgay"),
            "period_to": _iso(c, "DenNgay"),
            "days": _int(c, "SoNgay"),
            "bank_account": {
                "bank_code": _req(account, "MaNganHang"),
                "account_number": _req(account, "SoTaiKhoan"),
                "holder": _req(account, "ChuTaiKhoan"),
            },
            "amount_requested_vnd": _text(c, "SoTienDeNghi"),
        }
    }


def _reissue(root: etree._Element) -> dict[str, Any]:
    c = children(_content(root))
    return {
        "reissue": {
            "person": _person(c),
            "item": "si_book" if _req(c, "LoaiCapLai") == "SO" else "hi_card",
            "number": _req(c, "SoSoThe"),
            "reason": _req(c, "LyDo"),
            "note": _text(c, "GhiChu"),
        }
    }


def _adjustment(root: etree._Element) -> dict[str, Any]:
    content = _content(root)
    c = children(content)
    evidence = children(c["GiayToChungMinh"])
    return {
        "adjustment": {
            "person": _person(c),
            "changes": [
                {
                    "field": _req(d, "TruongThongTin"),
                    "old_value": _req(d, "GiaTriCu"),
                    "new_value": _req(d, "GiaTriMoi"),
                }
                for d in map(children, content.iterchildren("DieuChinh"))
            ],
            "evidence": {
                "kind": _req(evidence, "LoaiGiayTo"),
                "number": _req(evidence, "SoGiayTo"),
                "issued_on": _iso_req(evidence, "NgayCap"),
                "issued_by": _text(evidence, "NoiCap"),
            },
        }
    }


def _coverage(root: etree._Element) -> dict[str, Any]:
    c = children(_content(root))
    employer = children(c["DonViCuDi"])
    return {
        "coverage_certificate": {
            "person": _person(c),
            "destination_country": _req(c, "QuocGiaDen"),
            "period_from": _iso_req(c, "TuNgay"),
            "period_to": _iso_req(c, "DenNgay"),
            "sending_employer": _req(employer, "TenDonVi"),
            "sending_employer_tax_code": _text(employer, "MaSoThue"),
            "workplace": _text(c, "NoiLamViec"),
        }
    }


def _unpaid(root: etree._Element) -> dict[str, Any]:
    c = children(_content(root))
    unit = children(c["DonVi"])
    return {
        "unpaid_contributions": {
            "employer_name": _req(unit, "TenDonVi"),
            "employer_tax_code": _req(unit, "MaSoThue"),
            "employer_si_code": _text(unit, "MaDonVi"),
            "employer_address": _text(unit, "DiaChi"),
            "from_month": _iso_req(c, "TuThang"),
            "to_month": _iso_req(c, "DenThang"),
            "months_owed": int(_req(c, "SoThangNo")),
            "amount_owed_vnd": _req(c, "SoTienNo"),
            "workers": _int(c, "SoLaoDong"),
            "description": _text(c, "NoiDungPhanAnh"),
        }
    }


_READERS: dict[str, Callable[[etree._Element], dict[str, Any]]] = {
    "TK1-TS": _participants,
    "D02-TS": _workers,
    "DN01-HSB": _benefit_claim,
    "DN02-TS": _reissue,
    "DN03-TS": _adjustment,
    "DN04-TS": _coverage,
    "BC01-TT": _unpaid,
}


def _created_on(envelope: Envelope) -> str:
    try:
        return _iso_text(envelope.created)
    except ValueError as exc:
        raise _not_a_date(envelope.created, table="Hoso", path=f"{HOSO_PATH}/NgayLap") from exc


def normalize(
    envelope: Envelope, forms: list[ReadForm], *, procedure: Procedure, applicant: Applicant
) -> p.DossierPayload:
    """The payload of a dossier (or of additional documents) whose forms were all verified."""
    unit = envelope.unit
    content: dict[str, Any] = {}
    for form in forms:
        if form.root is not None:
            content.update(_READERS[form.info.code](form.root))
    month, year = envelope.period.split("/")
    # Built as plain data and validated once, in pydantic-core: a model per part, each
    # validated on its own, cost twice as much.
    return p.DossierPayload.model_validate(
        {
            "procedure": {
                "code": procedure.code,
                "ma_thu_tuc": envelope.ma_thu_tuc,
                "ma_tthc": procedure.ma_tthc,
                "name": procedure.name,
            },
            "declaration_period": f"{year}-{month}",
            "created_on": _created_on(envelope),
            "applicant": {
                "kind": applicant.kind,
                "id": applicant.id,
                "name": unit.get("TenDoiTuong", ""),
                "kind_code": unit.get("LoaiDoiTuong", ""),
                "si_code": unit.get("MaSoBHXH") or None,
                "signer_name": unit.get("NguoiKy") or None,
                "phone": unit.get("DienThoai") or None,
                "managing_agency": unit.get("CoQuanQuanLy") or None,
            },
            "transmitted_by": envelope.ivan.get("MaIVAN", ""),
            "files": [
                {
                    "code": f.info.code,
                    "file_name": f.info.file_name,
                    "file_type": f.info.file_type,
                    "sha256": f.info.sha256,
                    "size": f.info.size,
                    "signed": f.info.signer is not None,
                }
                for f in forms
            ],
            **content,
        }
    )


def subject_of(payload: p.DossierPayload, applicant: Applicant) -> Subject:
    """The person the dossier is about: the form's one person; for a citizen's dossier without
    one (a report of unpaid contributions), the citizen who filed it."""
    claim, reissue, adjustment = payload.benefit_claim, payload.reissue, payload.adjustment
    certificate, participants = payload.coverage_certificate, payload.participants or []
    candidates = (
        claim.beneficiary if claim else None,
        reissue.person if reissue else None,
        adjustment.person if adjustment else None,
        certificate.person if certificate else None,
        participants[0] if len(participants) == 1 else None,
    )
    person = next((c for c in candidates if c is not None), None)
    if person is not None:
        return Subject(
            citizen_id=person.citizen_id,
            si_number=person.si_number,
            full_name=person.full_name,
            date_of_birth=person.date_of_birth,
            gender=person.gender,
        )
    if applicant.kind == "citizen":
        return Subject(citizen_id=applicant.id, full_name=applicant.name or None)
    return Subject()
