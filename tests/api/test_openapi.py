"""The OpenAPI description, checked by a real client: schemathesis runs every check against the
demo gateway served over HTTP, with the budget, per-operation expectations and partners' tokens
of ``schemathesis.toml`` (the portal's for dossiers, a department's for moves, listings and
queues). The answers that generated data cannot reach (a signed batch accepted, what it stored, a
batch refused as a whole, a VSS-portal login, submission and card check, a dossier submitted over
SOAP, a dossier submitted, listed, claimed, moved and supplemented over REST) are sent by hand and
pass the same checks."""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import BaseSchema, Case, Response

from adapters.hospital.synth import make_batch
from adapters.portal.synth import make_dossier, sign_with_gateway
from gateway.api.citizens import ASSERTION_HEADER
from gateway.demo import (
    DEMO_CITIZEN,
    DOSSIERS,
    HOSPITALS,
    PORTAL,
    dossier_index,
    running,
)
from gateway.demo_identity import VNEID
from gateway.legacy import md5_upper
from gateway.trust.sign import SigningIdentity
from gateway.xml.ns import DOSSIERS_SERVICE, LOOKUP_SERVICE
from tests.conftest import Served
from tests.support.demo import id_token
from tests.support.soap import dotnet_envelope, soap_envelope
from tests.support.vss_portal_client import VssPortalClient

CONFIG = Path(__file__).with_name("schemathesis.toml")
HOSPITAL = HOSPITALS[0]
DEPARTMENT = "benefits"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Demo:
    """The demo gateway on a loopback port, the files ``gateway.demo.prepare`` wrote, and the
    demo's VNeID simulator."""

    served: Served
    folder: Path
    vneid_url: str

    def token(self, partner: str) -> str:
        return (self.folder / f"{partner}.token").read_text().strip()

    def card_check_login(self) -> dict[str, str]:
        """The demo hospital's card-check credentials (token/take, then the query string)."""
        password = (self.folder / f"{HOSPITAL.partner_id}.password").read_text().strip()
        with VssPortalClient(
            self.served.url,
            HOSPITAL.username,
            password,
            ma_tinh=HOSPITAL.province,
            ma_cskcb=HOSPITAL.facility,
        ) as client:
            assert client.take_token()["maKetQua"] == "200"
            return client.credentials()

    def variables(self) -> dict[str, str]:
        """What ``schemathesis.toml`` sends to the operations that are not a hospital's API:
        the portal's and a department's tokens; VNeID's, and an ID token of the demo citizen
        minted now by the demo's VNeID simulator (valid ten minutes); the demo hospital's
        card-check login."""
        login = self.card_check_login()
        return {
            "DEMO_PORTAL_TOKEN": self.token(PORTAL),
            "DEMO_DEPARTMENT_TOKEN": self.token(DEPARTMENT),
            "DEMO_VNEID_TOKEN": self.token(VNEID),
            "DEMO_CITIZEN_ASSERTION": id_token(self.vneid_url),
            "DEMO_CARD_CHECK_TOKEN": login["token"],
            "DEMO_CARD_CHECK_ID_TOKEN": login["id_token"],
            "DEMO_CARD_CHECK_PASSWORD": login["password"],
        }

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(HOSPITAL.partner_id)}"}

    def batch(self, *faults: str, first_index: int) -> bytes:
        """A signed batch of the demo hospital, two visits, each with ``faults``."""
        keys = self.folder / "pki" / "keys"
        identity = SigningIdentity.from_files(
            keys / f"{HOSPITAL.partner_id}.key.pem", keys / f"{HOSPITAL.partner_id}.cert.pem"
        )
        data, _ = make_batch(
            random.Random(first_index),
            identity,
            HOSPITAL.facility,
            2,
            created=date.today(),
            faults=faults,
            first_index=first_index,
        )
        return data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as env:
        # Generated lookups are all of the demo citizen: over the 30 a minute of the default,
        # they would be refused 429 (documented) before the lookup is made.
        env.setenv("GATEWAY_CITIZEN_RATE_LIMIT", "100000/min")
        with running(folder) as run, Served(run.gateway) as served:
            yield Demo(served, folder, run.vneid_url)


@pytest.fixture(scope="module")
def described(demo: Demo) -> BaseSchema:
    with pytest.MonkeyPatch.context() as env:
        for name, value in demo.variables().items():
            env.setenv(name, value)
        config = schemathesis.Config.from_path(CONFIG)
    return schemathesis.openapi.from_url(f"{demo.served.url}/openapi.json", config=config)


def test_every_answer_is_described(demo: Demo, tmp_path: Path) -> None:
    # The CLI, as CI and a developer run it: the pytest integration's lazy schema does not run
    # under pytest 9 (schemathesis 4.32 reads a node attribute pytest 9 removed).
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run"]
    command += ["--checks", "all", "--no-color", f"{demo.served.url}/openapi.json"]
    command += ["--header", f"Authorization: {demo.auth['Authorization']}"]
    run = subprocess.run(
        command,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **demo.variables()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def succeed(case: Case, demo: Demo, **headers: str) -> Response:
    """Send ``case`` as the demo hospital, check the answer with every check; it is a success."""
    answer = case.call_and_validate(headers={**demo.auth, **headers})
    assert answer.status_code == 200, answer.text
    return answer


def test_accepted_batch_and_what_it_stored_are_described(demo: Demo, described: BaseSchema) -> None:
    batch = demo.batch("high_quantity", first_index=700)  # accepted, with a signal each
    post = described["/api/v1/claims"]["POST"]
    receipt = succeed(post.Case(body=batch, media_type="application/xml"), demo).json()
    assert [r["status"] for r in receipt["results"]] == ["accepted", "accepted"]
    record_id = receipt["results"][0]["record_id"]

    for path, parameters in (
        ("/api/v1/claims/{record_id}", {"record_id": record_id}),
        ("/api/v1/claims/{record_id}/original", {"record_id": record_id}),
        ("/api/v1/receipts/{receipt_id}", {"receipt_id": receipt["id"]}),
    ):
        succeed(described[path]["GET"].Case(path_parameters=parameters), demo)
    receipts = described["/api/v1/receipts/{receipt_id}"]["GET"]
    signed = receipts.Case(path_parameters={"receipt_id": receipt["id"]})
    assert succeed(signed, demo, Accept="application/xml").content.startswith(b"<?xml")

    signals = described["/api/v1/signals"]["GET"]
    page = succeed(signals.Case(query={"facility": HOSPITAL.facility, "limit": 1}), demo)
    assert len(page.json()) == 1 and page.headers.get("link"), page.text

    soap = described["/soap/claims"]["POST"]
    envelope = soap_envelope("GetReceipt", "ReceiptId", receipt["id"])
    succeed(soap.Case(body=envelope, media_type="text/xml"), demo)


def test_batch_refused_as_a_whole_is_described(demo: Demo, described: BaseSchema) -> None:
    post = described["/api/v1/claims"]["POST"]
    batch = demo.batch("count_mismatch", first_index=800)
    answer = post.Case(body=batch, media_type="application/xml").call_and_validate(
        headers=demo.auth
    )
    problem = answer.json()
    assert (answer.status_code, problem["code"]) == (422, "RULE_VIOLATION"), answer.text
    assert problem["issues"] and problem["receipt_id"]


def test_portal_login_and_submission_are_described(demo: Demo, described: BaseSchema) -> None:
    password = (demo.folder / f"{HOSPITAL.partner_id}.password").read_text().strip()
    login = {"username": HOSPITAL.username, "password": md5_upper(password)}
    take = described["/api/token/take"]["POST"]
    token = succeed(take.Case(body=login, media_type=FORM), demo).json()
    assert token["maKetQua"] == "200", token

    headers = {
        "accessToken": token["APIKey"]["access_token"],
        "tokenId": token["APIKey"]["id_token"],
        "passwordHash": login["password"],
    }
    form = {
        "username": HOSPITAL.username,
        "loaiHoSo": "130",
        "maTinh": HOSPITAL.province,
        "maCSKCB": HOSPITAL.facility,
        "fileHSBase64": base64.b64encode(demo.batch(first_index=900)).decode(),
    }
    send = described["/api/qd130/guiHoSoXmlQD130"]["POST"]
    answer = succeed(send.Case(headers=headers, body=form, media_type=FORM), demo).json()
    assert answer["maKetQua"] == "200", answer


def test_portal_card_check_is_described(demo: Demo, described: BaseSchema) -> None:
    password = (demo.folder / f"{HOSPITAL.partner_id}.password").read_text().strip()
    login = {"username": HOSPITAL.username, "password": md5_upper(password)}
    take = described["/api/token/take"]["POST"]
    token = succeed(take.Case(body=login, media_type=FORM), demo).json()["APIKey"]
    query = {"token": token["access_token"], "id_token": token["id_token"], **login}
    body = {
        "maThe": "DN4010190012345",  # the demo citizen's card (gateway.demo)
        "hoTen": "NGUYỄN THỊ LAN",
        "ngaySinh": "17/05/1990",
        "hoTenCb": "Nguyễn Văn Tiếp Đón",
        "cccdCb": "030181000123",
    }
    check = described["/api/egw/KQNhanLichSuKCB2024"]["POST"]
    answer = succeed(check.Case(query=query, body=body, media_type="application/json"), demo)
    assert answer.json()["maKetQua"] == "000", answer.text


def test_vneid_lookups_are_described(demo: Demo, described: BaseSchema) -> None:
    token = id_token(demo.vneid_url)
    vneid = {"Authorization": f"Bearer {demo.token(VNEID)}", ASSERTION_HEADER: token}
    own = {"citizen_id": DEMO_CITIZEN}
    record = described["/api/v1/si-records/{citizen_id}"]["GET"]
    answer = record.Case(path_parameters=own, headers={"X-Purpose": "vneid:sobhxh"})
    assert answer.call_and_validate(headers=vneid).json()["si_number"] == "0190012345"
    other = record.Case(path_parameters={"citizen_id": "001190099999"})
    refused = other.call_and_validate(headers=vneid)
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN"), refused.text

    accesses = described["/api/v1/si-records/{citizen_id}/accesses"]["GET"]
    listed = accesses.Case(path_parameters=own, query={"limit": 5}).call_and_validate(headers=vneid)
    assert listed.status_code == 200, listed.text

    soap = described["/soap/lookup"]["POST"]
    envelope = dotnet_envelope(
        LOOKUP_SERVICE, "GetSiRecord", {"CitizenId": DEMO_CITIZEN, "IdToken": token}
    )
    answer = succeed(
        soap.Case(body=envelope, media_type="text/xml"),
        demo,
        Authorization=f"Bearer {demo.token(VNEID)}",
    )
    assert b"<SiNumber>0190012345</SiNumber>" in answer.content, answer.text


def test_dossier_submitted_over_soap_is_described(demo: Demo, described: BaseSchema) -> None:
    file, sample = next(iter(dossier_index(demo.folder).items()))
    fields = {
        "MaHoSo": sample["MaHoSo"],
        "MaTTHC": sample["MaTTHC"],
        "Dossier": base64.b64encode((demo.folder / file).read_bytes()).decode(),
    }
    soap = described["/soap/dossiers"]["POST"]
    envelope = dotnet_envelope(DOSSIERS_SERVICE, "SubmitDossier", fields)
    answer = succeed(
        soap.Case(body=envelope, media_type="text/xml"),
        demo,
        Authorization=f"Bearer {demo.token(PORTAL)}",
    )
    assert b"<Status>received</Status>" in answer.content, answer.text


def answered(case: Case, token: str, status: int) -> Response:
    """Send ``case`` with ``token``, check the answer with every check; it has ``status``."""
    answer = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status, answer.text
    return answer


def test_a_dossier_through_its_department_is_described(demo: Demo, described: BaseSchema) -> None:
    # The employer's sickness benefit (the SOAP case sends the first sample), for benefits.
    sample = next(d for d in DOSSIERS if d.procedure == "BENEFIT_SICKNESS")
    entry = dossier_index(demo.folder)[sample.file]
    assert entry["department"] == DEPARTMENT
    portal, department = demo.token(PORTAL), demo.token(DEPARTMENT)

    post = described["/api/v1/dossiers"]["POST"]
    submission = post.Case(
        query={"MaHoSo": entry["MaHoSo"], "MaTTHC": entry["MaTTHC"]},
        body=(demo.folder / sample.file).read_bytes(),
        media_type="application/xml",
    )
    receipt = answered(submission, portal, 202).json()
    assert answered(submission, portal, 202).json()["duplicate"] is True
    dossier_id = receipt["dossier_id"]
    dossier = {"dossier_id": dossier_id}
    answered(
        described["/api/v1/dossiers/{dossier_id}"]["GET"].Case(path_parameters=dossier), portal, 200
    )
    receipts = described["/api/v1/receipts/{receipt_id}"]["GET"]
    answered(receipts.Case(path_parameters={"receipt_id": receipt["id"]}), portal, 200)

    listing = described["/api/v1/dossiers"]["GET"]
    page = answered(listing.Case(query={"status": "received"}), department, 200).json()
    assert dossier_id in [d["id"] for d in page["items"]]
    where = {"department": DEPARTMENT}
    queue = described["/api/v1/queues/{department}"]["GET"]
    answered(queue.Case(path_parameters=where, query={"limit": 1}), department, 200)
    claims = described["/api/v1/queues/{department}/claims"]["POST"]
    task = answered(
        claims.Case(path_parameters=where, query={"worker": "clerk-1"}), department, 200
    )
    ack = described["/api/v1/queues/{department}/claims/{token}/ack"]["POST"]
    acked = ack.Case(path_parameters={**where, "token": task.json()["token"]})
    answered(acked, department, 204)

    transitions = described["/api/v1/dossiers/{dossier_id}/transitions"]["POST"]

    def move(status: int, **body: object) -> dict[str, Any]:
        case = transitions.Case(path_parameters=dossier, body=body, media_type="application/json")
        answer: dict[str, Any] = answered(case, department, status).json()
        return answer

    assert move(200, to="accepted")["state"] == "accepted"
    assert move(409, to="finished")["allowed"] == ["processing", "stopped"]
    move(200, to="processing")
    asked = move(200, to="supplement_requested", documents=["Giấy chứng nhận nghỉ việc"])
    assert asked["requested_documents"] == ["Giấy chứng nhận nghỉ việc"]

    keys = demo.folder / "pki/keys"
    employer = SigningIdentity.from_files(keys / "employer.key.pem", keys / "employer.cert.pem")
    supplement = make_dossier(
        random.Random(90),
        sample.procedure,
        employer,
        signer=sign_with_gateway,
        number=90,
        today=date.today(),
    )
    documents = described["/api/v1/dossiers/{dossier_id}/documents"]["POST"]
    sent = documents.Case(
        path_parameters=dossier, body=supplement.body, media_type="application/xml"
    )
    assert answered(sent, portal, 202).json()["kind"] == "documents"
