"""Generating one synthetic visit: patient, card, diagnosis and the dated path of its care."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from adapters.hospital.synth.catalogues import (
    BED,
    DIAGNOSES,
    DRUGS,
    EXAM,
    FAMILY,
    GIVEN,
    MIDDLE,
    MUC_HUONG,
    PLACES,
    SERVICES,
    Diagnosis,
    Drug,
    Service,
)
from adapters.hospital.synth.clinical import findings, notes
from adapters.hospital.synth.draws import digits, minutes, practitioner
from adapters.hospital.synth.model import DrugLine, ServiceLine, Visit

# References in brackets are sections and source tags of QD130.md.


def _card(rng: random.Random, age: int, province: str) -> tuple[str, int]:
    """HI card number: 2-letter group, benefit digit, 2-digit province, 10 digits; MUC_HUONG."""
    if age < 6:
        group, benefit = "TE", "1"  # children under 6
    elif age < 18:
        group, benefit = "HS", "4"  # pupils
    elif age >= 60:
        group, benefit = rng.choice((("HT", "3"), ("GD", "4")))  # retirees, households
    else:
        group, benefit = rng.choice((("DN", "4"), ("GD", "4"), ("HN", "2")))
    return f"{group}{benefit}{province}{digits(rng, 10)}", MUC_HUONG[benefit]


def _card_validity(rng: random.Random, arrival: date) -> tuple[date, date]:
    """A one-year card starting on the 1st of a month, 0–9 months before arrival."""
    month = arrival.year * 12 + arrival.month - 1 - rng.randint(0, 9)
    start = date(month // 12, month % 12 + 1, 1)
    return start, date(start.year + 1, start.month, 1) - timedelta(days=1)


@dataclass(frozen=True)
class _Orders:
    """Who orders and performs, in which department, at which benefit level."""

    ma_khoa: str
    doctor: str
    technician: str
    muc_huong: int

    def service(
        self,
        service: Service,
        at: datetime,
        qty: Decimal = Decimal(1),
        *,
        done: datetime | None = None,
        result: datetime | None = None,
        bed: str = "",
    ) -> ServiceLine:
        performer = self.technician if service.needs_performer else ""
        return ServiceLine(
            service, qty, self.muc_huong, self.ma_khoa, self.doctor, performer, at,
            ngay_th_yl=done, ngay_kq=result, ma_giuong=bed,
        )  # fmt: skip

    def drug(self, drug: Drug, qty: Decimal, at: datetime, *, ma_dich_vu: str = "") -> DrugLine:
        return DrugLine(drug, qty, self.muc_huong, self.ma_khoa, self.doctor, ma_dich_vu, at)


@dataclass(frozen=True)
class _Care:
    """The dated path of one visit and what it consumed."""

    ngay_vao: datetime
    ngay_vao_noi_tru: datetime | None
    ngay_ra: datetime
    drugs: tuple[DrugLine, ...]
    services: tuple[ServiceLine, ...]
    ngay_tai_kham: date | None


# Times follow the care path so that every order and result lies in [NGAY_VAO, NGAY_RA], with
# NGAY_TH_YL ≥ NGAY_YL and NGAY_KQ ≥ NGAY_YL [C3].


def _exam_and_tests(
    rng: random.Random, orders: _Orders, diagnosis: Diagnosis, arrival: datetime
) -> tuple[list[ServiceLine], datetime]:
    """The exam and the paraclinical tests ordered at it; the time the last result came."""
    exam_at = arrival + minutes(rng, 5, 15)
    services = [orders.service(EXAM, exam_at, done=exam_at)]
    last = exam_at
    for code in rng.sample(diagnosis.tests, rng.randint(1, len(diagnosis.tests))):
        ordered = exam_at + minutes(rng, 10, 20)
        done = ordered + minutes(rng, 5, 30)
        result = done + minutes(rng, 15, 60)
        services.append(orders.service(SERVICES[code], ordered, done=done, result=result))
        last = max(last, result)
    return services, last


def _outpatient(rng: random.Random, orders: _Orders, diagnosis: Diagnosis, day: date) -> _Care:
    """MA_LOAI_KCB 01: exam, tests, a prescription for 3–7 days (30 for a chronic disease)."""
    arrival = datetime.combine(day, time(rng.randint(7, 15), rng.randint(0, 59)))
    services, last = _exam_and_tests(rng, orders, diagnosis, arrival)
    prescribed = last + minutes(rng, 10, 30)
    days = 30 if diagnosis.chronic else rng.randint(3, 7)
    drugs = [
        orders.drug(DRUGS[code], DRUGS[code].per_day * days, prescribed, ma_dich_vu=EXAM.code)
        for code in rng.sample(diagnosis.drugs, rng.randint(1, len(diagnosis.drugs)))
    ]
    discharge = prescribed + minutes(rng, 10, 30)
    follow_up = discharge.date() + timedelta(days=30) if diagnosis.chronic else None
    return _Care(arrival, None, discharge, tuple(drugs), tuple(services), follow_up)


def _inpatient(rng: random.Random, orders: _Orders, diagnosis: Diagnosis, day: date) -> _Care:
    """MA_LOAI_KCB 03: exam, admission, 2–7 nights of daily orders and bed days."""
    arrival = datetime.combine(day, time(rng.randint(6, 20), rng.randint(0, 59)))
    services, last = _exam_and_tests(rng, orders, diagnosis, arrival)
    admitted = last + minutes(rng, 10, 60)  # NGAY_VAO_NOI_TRU ≥ NGAY_VAO [C3]
    nights = rng.randint(2, 7)
    discharge = datetime.combine(
        day + timedelta(days=nights), time(rng.randint(8, 10), rng.randint(30, 59))
    )
    codes = rng.sample(diagnosis.drugs, rng.randint(1, len(diagnosis.drugs)))
    drugs: list[DrugLine] = []
    services.append(orders.service(SERVICES["N03.06.020"], admitted))  # IV cannula
    for night in range(nights):
        at = admitted if night == 0 else datetime.combine(day + timedelta(days=night), time(7, 30))
        for code in codes:
            drug = DRUGS[code]
            drugs.append(orders.drug(drug, drug.per_day, at))
            if drug.supply:
                services.append(orders.service(SERVICES[drug.supply], at, drug.per_day))
        services.append(orders.service(BED, at, bed=f"H{rng.randint(1, 40):03d}"))
    services.sort(key=lambda line: line.ngay_yl)
    follow_up = discharge.date() + timedelta(days=7)
    return _Care(arrival, admitted, discharge, tuple(drugs), tuple(services), follow_up)


def make_visit(
    rng: random.Random, *, facility_code: str, index: int, day: date | None = None
) -> Visit:
    """One visit to ``facility_code`` arriving on ``day`` (a random day of 2024 if None)."""
    if len(facility_code) != 5:
        raise ValueError(f"facility code {facility_code!r} is not 5 characters")
    day = day or date(2024, 1, 1) + timedelta(days=rng.randrange(366))
    # Patients live in the facility's province when it is one of ours (codes start with it).
    place = next((p for p in PLACES if p[0] == facility_code[:2]), None) or rng.choice(PLACES)
    tinh, cccd_prefix, province, huyen, district, xa, ward, street = place
    gioi_tinh = rng.choice((1, 2))
    age = rng.randint(*rng.choice(((1, 17), (18, 59), (18, 59), (60, 85))))
    birth = date(day.year - age, rng.randint(1, 12), rng.randint(1, 28))
    ma_the, muc_huong = _card(rng, age, tinh)
    gt_tu, gt_den = _card_validity(rng, day)
    registered_here = rng.random() < 0.8
    diagnosis = rng.choice([d for d in DIAGNOSES if age >= d.min_age])
    inpatient = diagnosis.inpatient and rng.random() < 0.5
    # Department codes of QĐ 5937 App. 5 [B XML1 56]: K01 examination, K03 internal medicine.
    orders = _Orders("K03" if inpatient else "K01", practitioner(rng), practitioner(rng),
                     muc_huong)  # fmt: skip
    care = (_inpatient if inpatient else _outpatient)(rng, orders, diagnosis, day)
    kg = rng.uniform(8, 20) if age < 6 else rng.uniform(20, 50) if age < 14 else rng.uniform(42, 80)
    visit = Visit(
        ma_lk=f"{facility_code}{day:%y%m%d}{index:06d}",
        stt=index,
        ma_bn=digits(rng, 10),
        ho_ten=" ".join(
            (rng.choice(FAMILY), rng.choice(MIDDLE[gioi_tinh]), rng.choice(GIVEN[gioi_tinh]))
        ),
        # Citizen ID: province prefix, century-and-sex digit, 2-digit birth year, 6 digits.
        so_cccd=(
            f"{cccd_prefix}{(0 if birth.year < 2000 else 2) + gioi_tinh - 1}"
            f"{birth.year % 100:02d}{digits(rng, 6)}"
        ),
        ngay_sinh=birth,
        gioi_tinh=gioi_tinh,
        nhom_mau=rng.choice(("O+", "A+", "B+", "AB+")) if inpatient else "",
        dia_chi=f"Số {rng.randint(1, 250)} {street}, {ward}, {district}, {province}",
        matinh_cu_tru=tinh,
        mahuyen_cu_tru=huyen,
        maxa_cu_tru=xa,
        dien_thoai=f"0{rng.choice('3789')}{digits(rng, 8)}",
        ma_the_bhyt=ma_the,
        ma_dkbd=facility_code if registered_here else f"{tinh}{rng.randint(1, 299):03d}",
        gt_the_tu=gt_tu,
        gt_the_den=gt_den,
        # 1.1 = in-route at the registered facility, 2 = emergency [C4 MA_DOITUONG_KCB].
        ma_doituong_kcb="1.1" if registered_here else "2",
        muc_huong=muc_huong,
        ly_do_vv=diagnosis.reason,
        ly_do_vnt=f"{diagnosis.reason}, cần điều trị nội trú" if inpatient else "",
        diagnosis=diagnosis,
        ngay_vao=care.ngay_vao,
        ngay_vao_noi_tru=care.ngay_vao_noi_tru,
        ngay_ra=care.ngay_ra,
        ngay_ttoan=care.ngay_ra + minutes(rng, 5, 20),
        ma_loai_kcb="03" if inpatient else "01",
        ket_qua_dtri=rng.choice((1, 2)),  # cured / improved [C4]
        ghi_chu=(
            "Tái khám theo hẹn hoặc khi có dấu hiệu bất thường"
            if care.ngay_tai_kham
            else "Dùng thuốc theo đơn, khám lại khi có dấu hiệu bất thường"
        ),
        ngay_tai_kham=care.ngay_tai_kham,
        ma_khoa=orders.ma_khoa,
        ma_cskcb=facility_code,
        can_nang=f"{kg:.1f}",
        ma_hsba=f"{'BA' if inpatient else 'PK'}{day:%y}{index:06d}",
        # Health-ID of the facility's signatory: 10 digits, fixed per facility [B XML1 64].
        ma_ttdv=f"{zlib.crc32(facility_code.encode()) % 10**10:010d}",
        drugs=care.drugs,
        services=care.services,
    )
    # XML4 and XML5 draw from their own generator, seeded by the visit, so that the visit and
    # its XML1-XML3 stay what they were for a given ``rng`` before those tables were added.
    own = random.Random(f"{visit.ma_lk}/{visit.ma_bn}")  # noqa: S311 - synthetic data
    return replace(
        visit,
        findings=findings(own, visit.services, visit.diagnosis),
        notes=notes(own, visit, doctor=orders.doctor) if inpatient else (),
    )
