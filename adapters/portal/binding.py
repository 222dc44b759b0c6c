"""Who a dossier's signer is: the unit or citizen its certificate names (``UID=MST:``/``CCCD:``),
bound to the one the envelope says the dossier is about.

Vietnamese CAs put the holder's identity in the subject's UID attribute: ``MST:<tax code>`` for
an enterprise or organisation (10 digits, 13 for a branch: ``0101234567-001``), ``CCCD:<12
digits>`` for a citizen. The partner that transmits a dossier (the portal) never signs it.
"""

from __future__ import annotations

import functools
import re

from cryptography import x509
from cryptography.x509.oid import NameOID

from gateway.dossiers.ports import Applicant, ApplicantKind
from gateway.errors import Forbidden, Issue

_UID = re.compile(r"(?P<scheme>MST|CCCD):(?P<id>[0-9]{10}(?:-?[0-9]{3})?|[0-9]{12})")
_SCHEMES: dict[str, ApplicantKind] = {"MST": "unit", "CCCD": "citizen"}
_UNIT_PATH = "/Hoso/NoiDung/ThongTinDonVi"


def _canonical(kind: ApplicantKind, number: str) -> str:
    """Tax codes compared without the branch dash (``0101234567-001`` = ``0101234567001``)."""
    return number.replace("-", "") if kind == "unit" else number


# Certificate objects already read, by identity: the verifier hands the same object for the
# same KeyInfo, and hashing a certificate reads its whole structure (1.3 us). An entry holds its
# certificate, so no other object can have its id.
_BY_IDENTITY: dict[int, tuple[x509.Certificate, Applicant]] = {}
_IDENTITIES = 1024


def applicant_of(certificate: x509.Certificate) -> Applicant:
    """The unit or citizen a signing certificate names, or ``Forbidden``."""
    known = _BY_IDENTITY.get(id(certificate))
    if known is not None:
        return known[1]
    applicant = _applicant_of(certificate)
    if len(_BY_IDENTITY) >= _IDENTITIES:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(certificate)] = (certificate, applicant)
    return applicant


# A dossier's signer signs its envelope and every form with one certificate, and files dossier
# after dossier with it: read each certificate's subject once (certificates hash by their DER).
@functools.lru_cache(maxsize=1024)
def _applicant_of(certificate: x509.Certificate) -> Applicant:
    uids = [str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.USER_ID)]
    matches = [m for m in (_UID.fullmatch(u.strip()) for u in uids) if m is not None]
    if len(matches) != 1 or len(uids) != 1:
        raise Forbidden(
            "the signer's certificate must name one unit or citizen in its subject "
            "(UID=MST:<tax code> or UID=CCCD:<personal ID number>)"
        )
    kind = _SCHEMES[matches[0]["scheme"]]
    if kind == "citizen" and len(matches[0]["id"]) != 12:
        raise Forbidden("a citizen's certificate must carry a 12-digit personal ID number (CCCD)")
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return Applicant(
        kind=kind,
        id=_canonical(kind, matches[0]["id"]),
        name=str(names[0].value) if names else "",
    )


def bind(applicant: Applicant, *, kind_code: str, tax_code: str) -> None:
    """The envelope's ``LoaiDoiTuong`` and ``MaSoThue`` must be the signer's.

    ``LoaiDoiTuong`` 1 is a citizen, 2..4 a unit (DVCQG's codes). A citizen's ``MaSoThue`` is
    their 12-digit personal ID number: since 07/2025 it is their personal tax code (Circular
    86/2024/TT-BTC), which is why the I-VAN envelope's tax-code field can name a citizen."""
    kind: ApplicantKind = "citizen" if kind_code == "1" else "unit"
    if kind != applicant.kind or _canonical(kind, tax_code) != applicant.id:
        raise Forbidden(
            f"the dossier is about {kind} {tax_code} but signed by {applicant.kind} "
            f"{applicant.id}: the envelope must be signed by the unit or citizen it is about",
            issues=[Issue("signer is not the applicant", path=f"{_UNIT_PATH}/MaSoThue")],
        )


def same_signer(form: Applicant, envelope: Applicant, *, code: str, path: str) -> None:
    """Every XML form is signed by the envelope's signer, or ``Forbidden``."""
    if (form.kind, form.id) != (envelope.kind, envelope.id):
        raise Forbidden(
            f"form {code} is signed by someone else ({form.kind} {form.id}) than the dossier "
            f"({envelope.kind} {envelope.id})",
            issues=[Issue("form signed by someone else", table=code, path=path)],
        )
