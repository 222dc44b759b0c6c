"""problem+json: titles written for partners per error class, the Allow header of a 405, and the
OpenAPI responses that declare the problems."""

from __future__ import annotations

import pytest

from gateway.api import problems
from gateway.errors import CertificateError, GatewayError, Unavailable
from tests.conftest import Served


def every_error(root: type[GatewayError] = GatewayError) -> list[type[GatewayError]]:
    return [root] + [error for sub in root.__subclasses__() for error in every_error(sub)]


@pytest.mark.parametrize("error", every_error(), ids=lambda error: error.__name__)
def test_every_error_class_writes_its_own_title(error: type[GatewayError]) -> None:
    assert "title" in vars(error)
    assert error.title != error.__doc__


def test_unexpected_error_is_titled_for_partners(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr(served.gateway.metrics, "exposition", broken)
    with served.client(None) as http:
        answer = http.get("/metrics")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == problems.PROBLEM
    assert answer.json()["title"] == "Internal error of the gateway"
    assert answer.json()["code"] == "INTERNAL"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/soap/claims", "GET, POST"),  # two routes, one path
        ("OPTIONS", "/soap/claims", "GET, POST"),
        ("PUT", "/api/v1/claims/some-record", "GET"),
        ("HEAD", "/healthz", "GET"),
        ("POST", "/openapi.json", "GET, HEAD"),  # FastAPI's own route
    ],
)
def test_method_not_allowed_names_every_method_of_the_path(
    served: Served, method: str, path: str, allowed: str
) -> None:
    with served.client() as http:
        answer = http.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    if method != "HEAD":
        assert answer.json()["title"] == "Method Not Allowed"


def test_declared_responses_group_the_codes_of_one_status() -> None:
    declared = problems.responses(CertificateError, Unavailable)
    assert sorted(declared) == [422, 500, 503]
    codes = declared[422]["content"][problems.PROBLEM]["schema"]["properties"]["code"]["enum"]
    assert codes == ["CERT_UNTRUSTED", "CERT_EXPIRED", "CERT_REVOKED"]
    assert declared[503]["headers"]["Retry-After"]["required"] is True
    assert "headers" not in declared[422]


def test_parameters_that_do_not_fit_are_malformed_with_an_issue_each_and_no_source(
    served: Served,
) -> None:
    with served.client("portal") as http:
        answer = http.get("/api/v1/dossiers/not-an-id")
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["code"] == "XML_MALFORMED"
    assert [issue["path"] for issue in problem["issues"]] == ["path.dossier_id"]
    assert "pattern" in problem["issues"][0]["message"]
    # FastAPI's own text of the error names the route's file and line, and repeats the input.
    assert ".py" not in problem["detail"] and "not-an-id" not in problem["detail"]


def test_an_operation_that_fastapi_validates_documents_the_400_it_answers(
    served: Served,
) -> None:
    with served.client(None) as http:
        described = http.get("/openapi.json").json()
    answers = described["paths"]["/api/v1/dossiers/{dossier_id}"]["get"]["responses"]
    assert "422" not in answers
    codes = answers["400"]["content"][problems.PROBLEM]["schema"]["properties"]["code"]["enum"]
    assert codes == ["XML_MALFORMED"]
