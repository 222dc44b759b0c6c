"""Synthetic but realistic QĐ 130 claim data: visits, their tables (XML1..XML5, check-in),
signed batches, and faults to inject for tests, the demo and the bulk-ingest generator.

How a visit becomes a batch: ``visits.make_visit`` draws the visit (``model.Visit``: patient,
card, care path, drug and service lines, paraclinical findings, progress notes) from the
``catalogues``; ``faults.inject`` may change it; ``writers`` write its tables in the layouts of
``fields``; ``batch`` puts them in a GIAMDINHHS envelope and signs it.
"""

from adapters.hospital.synth.batch import (
    envelope,
    make_batch,
    signed_batch,
    signed_checkin,
)
from adapters.hospital.synth.catalogues import Diagnosis, Drug, Service
from adapters.hospital.synth.faults import BATCH_FAULTS, FAULTS, inject, other_ma_lk
from adapters.hospital.synth.fields import (
    CHECKIN_FIELDS,
    LAYOUTS,
    XML1_FIELDS,
    XML2_FIELDS,
    XML3_FIELDS,
    XML4_FIELDS,
    XML5_FIELDS,
    Layout,
)
from adapters.hospital.synth.model import (
    Amounts,
    DrugLine,
    Finding,
    Note,
    ServiceLine,
    Totals,
    Visit,
)
from adapters.hospital.synth.visits import make_visit
from adapters.hospital.synth.writers import checkin, tables, xml1, xml2, xml3, xml4, xml5

__all__ = [
    "BATCH_FAULTS",
    "CHECKIN_FIELDS",
    "FAULTS",
    "LAYOUTS",
    "XML1_FIELDS",
    "XML2_FIELDS",
    "XML3_FIELDS",
    "XML4_FIELDS",
    "XML5_FIELDS",
    "Amounts",
    "Diagnosis",
    "Drug",
    "DrugLine",
    "Finding",
    "Layout",
    "Note",
    "Service",
    "ServiceLine",
    "Totals",
    "Visit",
    "checkin",
    "envelope",
    "inject",
    "make_batch",
    "make_visit",
    "other_ma_lk",
    "signed_batch",
    "signed_checkin",
    "tables",
    "xml1",
    "xml2",
    "xml3",
    "xml4",
    "xml5",
]
