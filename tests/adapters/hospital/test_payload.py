"""The published payload models match what normalization builds, field for field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from adapters.hospital import lines, synth, xml1
from adapters.hospital import payload as models
from adapters.hospital.visit import normalize_visit
from gateway.xml.parser import XmlLimits, parse
from tests.adapters.hospital import visits

LINE_MODELS: dict[str, type[BaseModel]] = {
    "drugs": models.DrugLine,
    "services": models.ServiceLine,
    "paraclinical": models.ParaclinicalResult,
    "clinical_notes": models.ClinicalNote,
}
SECTION_MODELS: dict[str, type[BaseModel]] = {
    "visit": models.VisitSection,
    "patient": models.Patient,
    "coverage": models.Coverage,
    "diagnoses": models.Diagnoses,
    "totals": models.Totals,
    "settlement": models.Settlement,
}


def _described(model: type[BaseModel]) -> dict[str, str | None]:
    """Field name → the official field its description names."""
    return {name: info.description for name, info in model.model_fields.items()}


@pytest.mark.parametrize("spec", lines.TABLES, ids=lambda spec: spec.kind)
def test_line_models_have_exactly_the_normalized_fields(spec: lines.LineTable) -> None:
    expected = {name: official for official, (name, _) in spec.fields.items()}
    assert _described(LINE_MODELS[spec.section]) == expected


@pytest.mark.parametrize("section", SECTION_MODELS)
def test_summary_models_have_exactly_the_normalized_fields(section: str) -> None:
    expected = {name: tag for tag, (sec, name, _) in xml1.FIELDS.items() if sec == section}
    assert _described(SECTION_MODELS[section]) == expected


def test_the_card_model_has_the_four_card_fields() -> None:
    assert set(_described(models.Card).values()) == set(xml1.CARD_FIELDS)


@pytest.mark.parametrize("wrapper", [True, False])
def test_real_payloads_validate_against_the_models(wrapper: bool) -> None:
    for seed in range(50):
        tables = visits.parsed(synth.tables(visits.make_visit(seed), wrapper=wrapper))
        _, payload = normalize_visit(tables)
        models.VisitPayload.model_validate(payload)


def test_a_payload_as_the_batch_adapter_completes_it_validates() -> None:
    _, payload = normalize_visit(visits.visit_tables(visits.first_seed(visits.inpatient)))
    payload |= {
        "tables": ["XML1", "XML2", "XML3", "XML4", "XML5"],
        "format": {"name": "QD130", "version": "4750"},
    }
    models.VisitPayload.model_validate(payload)


@pytest.mark.parametrize("spec", lines.TABLES, ids=lambda spec: spec.kind)
def test_a_line_with_every_field_validates(spec: lines.LineTable) -> None:
    document = visits.table(spec.kind, [visits.full_row(spec)])
    (line,), _ = lines.normalize(parse(document, XmlLimits()), spec)
    LINE_MODELS[spec.section].model_validate(line)


@pytest.mark.parametrize(
    ("section", "name", "value"),
    [
        ("drugs", "quantity", 1.5),  # a float, not an exact decimal string
        ("drugs", "sequence", "1"),  # a string where an integer belongs
        ("drugs", "ordered_at", "2024-03-15T08:30:00Z"),  # not Vietnam time
        ("drugs", "unexpected", "x"),  # a field nobody documented
    ],
)
def test_drift_from_the_documented_shape_is_caught(section: str, name: str, value: Any) -> None:
    _, payload = normalize_visit(visits.visit_tables(0))
    payload[section][0][name] = value
    with pytest.raises(ValidationError):
        models.VisitPayload.model_validate(payload)


def test_the_json_schema_names_the_sections_and_never_promises_null() -> None:
    schema = models.payload_json_schema()
    assert set(schema["required"]) == {
        "visit", "patient", "coverage", "cards", "diagnoses", "totals", "settlement",
        "drugs", "services", "paraclinical", "clinical_notes",
    }  # fmt: skip
    drug = schema["$defs"]["DrugLine"]
    assert drug["additionalProperties"] is False
    assert drug["properties"]["quantity"]["pattern"] == r"^-?[0-9]+(\.[0-9]+)?$"
    # Optional, but a string when present: no "null" branch, no "default": null.
    assert drug["properties"]["directions"] == {
        "description": "CACH_DUNG",
        "title": "Directions",
        "type": "string",
    }
    text = json.dumps(schema)
    assert '"default": null' not in text
    assert text.count('"type": "null"') == 3  # card fields that align by position
