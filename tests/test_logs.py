"""Personal identifiers never reach the logs in clear."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from gateway import logs
from tests.conftest import Served


def test_mask_hides_citizen_ids_card_and_si_numbers() -> None:
    text = "citizen 079201012345 card GD4797920123456 si 7920123456 order 12"
    assert logs.mask(text) == "citizen *********345 card ************456 si *******456 order 12"


def test_mask_removes_the_credentials_of_a_query_string() -> None:
    text = (
        '"POST /api/egw/KQNhanLichSuKCB2024?token=eyJ.a-b_c&id_token=bEGv&username=01929_BV'
        '&password=F4EB7F5E&maThe=x HTTP/1.1" 200; mytoken=kept'
    )
    assert logs.mask(text) == (
        '"POST /api/egw/KQNhanLichSuKCB2024?token=***&id_token=***&username=***'
        '&password=***&maThe=x HTTP/1.1" 200; mytoken=kept'
    )


def test_masking_filter_applies_to_arguments() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "lookup %s", ("001099012345",), None)
    assert logs.MaskingFilter().filter(record)
    assert record.getMessage() == "lookup *********345"


def test_a_served_batch_leaves_no_identifier_in_the_logs(
    served: Served, batch: Callable[..., bytes], capfd: pytest.CaptureFixture[str]
) -> None:
    logs.configure("DEBUG")
    body = batch(2, seed=99)
    with served.client() as http:
        receipt = http.post(
            "/api/v1/claims", content=body, headers={"Content-Type": "application/xml"}
        ).json()
        record = http.get(f"/api/v1/claims/{receipt['results'][0]['record_id']}").json()
        http.get(f"/api/v1/claims/{record['subject']['citizen_id']}")  # an ID in a URL path
    output = capfd.readouterr().err
    assert "/api/v1/claims" in output  # the access log was written...
    for identifier in (record["subject"]["citizen_id"], record["subject"]["hi_card_number"]):
        assert identifier not in output  # ...without the identifiers in clear


def test_a_logged_traceback_is_masked_too(capfd: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO")
    try:
        raise KeyError("card GD4797920123456 of citizen 079201012345")
    except KeyError:
        logging.getLogger("gateway.test").exception("lookup failed")
    output = capfd.readouterr().err
    assert "lookup failed" in output and "KeyError" in output
    assert "GD4797920123456" not in output and "079201012345" not in output
    assert "************456" in output
