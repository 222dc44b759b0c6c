"""VSS receiving-portal compatibility (SPEC section 4, QD130.md section G): the interface of
CV 3190/BHXH-CNTT (03/10/2023, Phụ lục section I), so that hospital software written for VSS's
portal works by changing only its base URL. Page numbers below are those of the guide's PDF.

| endpoint (CV 3190 Phụ lục section I)                 | loaiHoSo | fileHSBase64 holds         |
|------------------------------------------------------|----------|----------------------------|
| ``POST /api/token/take`` (I.1, p. 2–3)                | -        | (``username``, ``password``) |
| ``POST /api/qd130/checkInKcbQd130`` (I.2, p. 3–5)     | 0        | ``CHI_TIEU_TRANG_THAI_KCB`` |
| ``POST /api/qd130/guiHoSoXmlQD130`` (I.3, p. 5–18)    | 130      | ``GIAMDINHHS``              |
| ``POST /api/qd130/guiDuLieuGdykQd130`` (I.4, p. 18–20) | 12       | ``CHI_TIEU_GIAM_DINH_YKHOA`` |

and the HI card check of CV 1923/BHXH-CNTT (2024, Phụ lục 03), ``POST
/api/egw/KQNhanLichSuKCB2024``: a card (or citizen ID), name and birth date asked by a named staff
member, answered from the SI record with the guide's result codes (``cardcheck``).

The three submissions carry the headers ``accessToken``, ``tokenId`` and ``passwordHash`` (I.2.1,
I.3.1, I.4.1) and answer ``maKetQua``, ``maGiaoDich``, ``thoiGianTiepNhan`` (``yyyyMMddHHmmss``,
Vietnam time), ``thongDiep`` (I.2.3, I.3.3, I.4.3); the token answers ``maKetQua`` and ``APIKey``
(I.1.3). They run the pipeline of ``POST /api/v1/claims`` (``submit_batch``, channel
``vss-portal``): duplicates, signatures, schemas and receipts behave the same, ``maGiaoDich`` is
the receipt id, readable at ``/api/v1/receipts/{id}``. The login is ``gateway.legacy``.

Decisions where the guide is silent:
- **HTTP status: always 200**, the outcome in ``maKetQua``. The guide defines outcomes only by
  ``maKetQua`` in the body, and hospital software written for it reads the body only when the
  HTTP status is a success (a refused login would otherwise look like a network failure).
  ``Retry-After`` is still sent with 429 and 503.
- **Bodies**: ``application/x-www-form-urlencoded`` as the guide says, and also the same fields
  as a JSON object, which some hospital software posts. Field names are matched without regard
  to case, as the portal's ASP.NET model binding matches them; a field sent twice, or one the
  guide does not name, is refused. A body is read as it arrives, never whole: the document is
  decoded on the way and the body refused (``413``) as soon as it is known to be more than the
  document limit can make (``fields``).
- **A batch with some rejected visits** answers 200 (the transaction is received, its accepted
  visits stored; resending the same file would only return the same receipt) and lists every
  rejected ``MA_LK`` with its SPEC code in ``thongDiep`` ("kèm theo thông điệp lỗi nếu có"); a
  batch whose every visit is rejected answers the code of the first rejection. A medical
  assessment row has no ``MA_LK``: it is named by ``NGAY_HOP/SO_BIEN_BAN``, its key
  (``adapters.hospital.assessment``).
- **maCSKCB** must be one of the partner's facility codes (403); the facility the signed
  document speaks for is checked by the pipeline, as for ``/api/v1/claims``. The medical
  assessment document names no facility (table 12 has no facility field): ``maCSKCB``, "mã cơ sở
  giám định y khoa" (I.4.2, p. 18), is checked against the partner but not recorded, since the
  signature does not cover it.

``MA_KET_QUA`` is the one table from SPEC error codes to ``maKetQua``. The guide's codes are HTTP
statuses ("200 – success, 401 unauthen, 403 – unauthoried…", I.2.3, p. 4), so each SPEC code
takes the HTTP status SPEC section 5 gives it, and ``thongDiep`` starts with the SPEC code.

| module      | owns                                                                        |
|-------------|-----------------------------------------------------------------------------|
| ``answers`` | ``MA_KET_QUA`` and the answer bodies of I.1.3 / I.2.3 / I.3.3 / I.4.3       |
| ``forms``   | the submission endpoints, the fields each takes, the decoded document       |
| ``fields``  | the fields of one body as they arrive: allowed names, bounds, the document  |
| ``urlencoded`` | form bodies read piece by piece, percent-decoded in C                    |
| ``jsonobject`` | JSON bodies read piece by piece, one object of string fields             |
| ``cardcheck`` | the card check: its request, credentials, answer and result codes         |
| ``routes``  | the router: the token, the three submissions, the card check, the state     |
"""

from __future__ import annotations

from gateway.api.vss_portal.answers import MA_KET_QUA
from gateway.api.vss_portal.routes import router

__all__ = ["MA_KET_QUA", "router"]
