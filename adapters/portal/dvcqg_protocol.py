"""DVCQG's sync services as the gateway speaks them: service names, answer codes, dates, fields.

Names are verbatim from ``reference/DOSSIERS.md`` section 2. DVCQG publishes no list of its
``error_code`` values beyond "0"/"00" (success) and "3" (the dossier already exists); the others
below are the gateway's design, which the simulator answers and the client reads. The client and
the simulator share this vocabulary, never each other's code.

Idempotency (the gateway's design: DVCQG's own deduplication is not public): every call that
changes something carries an ``Idempotency-Key`` header, the outbox message's key. A key is spent
only by a call that succeeded: a repeated call with a spent key changes nothing and gets the first
answer again; a call that failed changed nothing, so it may be repeated with the same key.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DONG_BO_HO_SO: Final = "DongBoHoSoMC"  # a dossier with its TrangThaiHoSo (create or update)
CAP_NHAT_TIEN_DO: Final = "CapNhatTienDoHoSoMC"  # progress steps, at most 10 per call
TRA_CUU_HO_SO: Final = "TraCuuHoSo"  # is the dossier known?

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
MAX_STEPS_PER_CALL: Final = 10
DATE_FORMAT: Final = "%Y%m%d%H%M%S"  # yyyyMMddHHmmss, Asia/Ho_Chi_Minh, no offset


class Code(StrEnum):
    """``error_code`` of an integration call (a string, as DVCQG sends it)."""

    OK = "0"
    OK_LEGACY = "00"  # what some DVCQG adapters answer for success (OpenCPS checks both)
    SESSION = "1"  # the session is unknown or expired: log in again
    MISSING_FIELD = "2"  # a mandatory field is absent or empty
    EXISTS = "3"  # create of a dossier that exists ("đã tồn tại"): update it instead
    BAD_DATE = "4"  # a date that is not yyyyMMddHHmmss
    BAD_STATUS = "5"  # a TrangThaiHoSo / TrangThai outside 1..10
    UNKNOWN_DOSSIER = "6"  # an update or progress step of a dossier DVCQG does not have
    BAD_REQUEST = "7"  # unknown service or agency, a field too long, too many steps
    INTERNAL = "99"  # DVCQG's own failure


SUCCESS: Final = frozenset({Code.OK, Code.OK_LEGACY})
# Answers that the same message can never turn into a success: retrying only spends the budget.
PERMANENT: Final = frozenset({Code.MISSING_FIELD, Code.BAD_DATE, Code.BAD_STATUS, Code.BAD_REQUEST})

# Login answers (a number, as DVCQG's login sends it).
LOGIN_OK: Final = 0
LOGIN_REFUSED: Final = 1

# Mandatory fields (reference/DOSSIERS.md 2b; Email is marked uncertain there and not required).
DOSSIER_MANDATORY: Final = (
    "MaHoSo",
    "MaTTHC",
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "LoaiDoiTuong",
    "SoDienThoai",
    "TrichYeuHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "TrangThaiHoSo",
    "HinhThuc",
    "DonViXuLy",
)
STEP_MANDATORY: Final = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")

DOSSIER_DATES: Final = ("NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy", "NgayTuChoi")
SUPPLEMENT_DATES: Final = ("NgayBoSung", "NgayHenTraTruoc", "NgayHenTraMoi")
STEP_DATES: Final = ("ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh")

# Length limits DVCQG enforces (reference/DOSSIERS.md 2d, observed in TD's code).
MAX_LENGTH: Final = {
    "TrichYeuHoSo": 1000,
    "NguoiXuLy": 50,
    "TenTepDinhKem": 4000,
    "TenGiayTo": 2000,
}

STATUS_CODES: Final = frozenset(str(n) for n in range(1, 11))  # TrangThaiHoSo 1..10
