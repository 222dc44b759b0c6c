"""What the clinical tables say about a visit: paraclinical results (XML4) and progress notes
(XML5), consistent with its diagnosis and dated inside its stay (QD130.md section C3)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from adapters.hospital.synth.catalogues import PANELS, READINGS, Diagnosis
from adapters.hospital.synth.draws import minutes, practitioner
from adapters.hospital.synth.model import Finding, Note, ServiceLine, Visit

_FEVERS = frozenset({"J18.9", "J06.9", "A09", "N39.0"})
_PRESSURE = frozenset({"I10", "I20.9"})


def findings(
    rng: random.Random, services: Iterable[ServiceLine], diagnosis: Diagnosis
) -> tuple[Finding, ...]:
    """The XML4 rows of the paraclinical tests among ``services``: one per indicator of a
    laboratory test, one reading per imaging or functional test; each dated at its test's
    result time, so that NGAY_YL <= NGAY_TH_YL <= NGAY_KQ holds (section C3)."""
    rows: list[Finding] = []
    for line in services:
        code, result = line.service.code, line.ngay_kq
        if result is None:
            continue
        reader = practitioner(rng)  # MA_BS_DOC_KQ: the health-ID of who reads the result
        if code in PANELS:
            for indicator in PANELS[code]:
                low, high = (
                    indicator.raised if diagnosis.icd in indicator.raised_in else indicator.normal
                )
                rows.append(
                    Finding(
                        code, indicator.code, indicator.name,
                        f"{rng.uniform(low, high):.{indicator.places}f}", indicator.unit,
                        "", "", result, reader,
                    )
                )  # fmt: skip
        elif code in READINGS:
            mo_ta, ket_luan = READINGS[code].for_diagnosis(diagnosis.icd)
            rows.append(
                Finding(
                    code, "", line.service.name, "", "",
                    mo_ta.format(rate=rng.randint(62, 96)), ket_luan, result, reader,
                )
            )  # fmt: skip
    return tuple(rows)


def _vitals(rng: random.Random, *, fever: float, pressure: float, care_level: int) -> str:
    """Vital signs in the 4750 convention of Bảng 5 row 3: CSST<M75_T37_HA120/70_NT18_HL2>.

    ``fever`` and ``pressure`` (0 none .. 1 as on admission) raise the signs they affect.
    """
    temperature = rng.uniform(36.5, 37.1) + fever * rng.uniform(1.3, 2.1)
    pulse = rng.randint(66, 86) + round(fever * 20)
    breaths = rng.randint(16, 20) + round(fever * 4)
    systolic = rng.randint(105, 130) + round(pressure * 35)
    diastolic = rng.randint(65, 80) + round(pressure * 18)
    return f"CSST<M{pulse}_T{temperature:.1f}_HA{systolic}/{diastolic}_NT{breaths}_HL{care_level}>"


def notes(rng: random.Random, visit: Visit, *, doctor: str) -> tuple[Note, ...]:
    """The XML5 rows of an inpatient stay: the admission note, one note each morning, the
    discharge note; all between NGAY_VAO_NOI_TRU and NGAY_RA, written by ``doctor``."""
    admitted = visit.ngay_vao_noi_tru or visit.ngay_vao
    discharge = visit.ngay_ra
    diagnosis = visit.diagnosis
    fever = 1.0 if diagnosis.icd in _FEVERS else 0.0
    pressure = 1.0 if diagnosis.icd in _PRESSURE else 0.0
    symptoms = diagnosis.reason[0].lower() + diagnosis.reason[1:]
    rows = [
        Note(
            f"Vào viện vì {symptoms}. Tỉnh, tiếp xúc tốt. "
            f"{_vitals(rng, fever=fever, pressure=pressure, care_level=2)}. "
            f"Chẩn đoán: {diagnosis.name}.",
            admitted + minutes(rng, 10, 30),
            doctor,
        )
    ]
    mornings = [
        admitted.date() + timedelta(days=n)
        for n in range(1, (discharge.date() - admitted.date()).days + 1)
    ]
    for n, day in enumerate(mornings):
        early = n < len(mornings) / 2
        # What raised the signs on admission subsides over the first half of the stay.
        easing = max(0.0, 1 - 2 * (n + 1) / (len(mornings) + 1))
        text = (
            f"Còn {symptoms}, mệt, ăn uống kém."
            if n == 0
            else "Các triệu chứng giảm dần, ăn uống khá hơn."
            if early
            else "Triệu chứng giảm nhiều, ăn ngủ được, tiếp tục điều trị theo phác đồ."
        )
        vitals = _vitals(rng, fever=fever * easing, pressure=pressure * easing, care_level=3)
        # Morning round, before the 07:30 orders of the day.
        at = datetime.combine(day, time(7, rng.randint(0, 20)))
        rows.append(Note(f"{text} {vitals}.", at, doctor))
    rows.append(
        Note(
            "Bệnh ổn định, đủ điều kiện ra viện. "
            f"{_vitals(rng, fever=0.0, pressure=0.0, care_level=3)}. "
            "Dặn dò dùng thuốc và tái khám theo hẹn.",
            discharge - minutes(rng, 20, 40),
            doctor,
        )
    )
    return tuple(rows)
