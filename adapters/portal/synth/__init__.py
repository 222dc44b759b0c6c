"""Synthetic, signed VSS e-dossiers for every procedure, valid or with chosen faults, for the
demo, the tests and ``gateway generate dossiers``: ``draws`` (people, employers), ``forms`` (one
writer per form), ``dossier`` (the envelope, the two signature levels, the faults)."""

from adapters.portal.synth.dossier import (
    AGENCY,
    FAULTS,
    GeneratedDossier,
    Signer,
    ma_ho_so,
    make_dossier,
    sign_with_gateway,
)

__all__ = [
    "AGENCY",
    "FAULTS",
    "GeneratedDossier",
    "Signer",
    "ma_ho_so",
    "make_dossier",
    "sign_with_gateway",
]
