"""The package as users install it: the wheel built from the checkout, installed into a fresh
virtual environment in a temporary folder, and its own ``gateway`` command run from there, never
from the checkout. The editable install of the other tests cannot show what the wheel lacks."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import zeep
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from adapters.hospital import synth
from gateway.demo import DEMO_CARD, DEMO_CITIZEN, DOSSIERS, dossier_index
from gateway.demo_identity import VNEID
from tests.conftest import free_port
from tests.support.assessment import assessment_xml
from tests.support.checkin import checkin_xml
from tests.support.demo import (
    AT_PORTAL,
    MOVES,
    check_card,
    id_token,
    look_up,
    move,
    statuses_at_portal,
    submit,
)
from tests.support.process import ServerProcess
from tests.support.vss_portal_client import VssPortalClient

CHECKOUT = Path(__file__).resolve().parents[2]
XML = {"Content-Type": "application/xml"}


@dataclass(frozen=True)
class Installed:
    """A virtual environment holding only the wheel (and its dependencies)."""

    venv: Path

    def command(self, name: str = "gateway") -> str:
        return str(self.venv / "bin" / name)

    def env(self, **settings: str) -> dict[str, str]:
        """The environment of a user's shell: nothing that points at the checkout."""
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        return {**keep, **settings}

    def run(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.command(), *args],
            cwd=cwd,
            env=env or self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _run(*argv: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    home = tmp_path_factory.mktemp("installed")
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "-w",
        home / "dist",
        CHECKOUT,
        cwd=home,
    )
    wheels = list((home / "dist").glob("vss_gateway-*.whl"))
    assert len(wheels) == 1, wheels
    _run(sys.executable, "-m", "venv", home / "venv", cwd=home)
    _run(home / "venv/bin/python", "-m", "pip", "install", "-q", wheels[0], cwd=home)
    result = Installed(home / "venv")
    where = subprocess.run(
        [result.command("python"), "-c", "import gateway; print(gateway.__file__)"],
        cwd=home,
        env=result.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(home / "venv")), where
    return result


def _signed(installed: Installed, folder: Path, name: str, unsigned: bytes) -> bytes:
    """``unsigned`` signed by the installed ``gateway sign`` with the hospital's key."""
    (folder / f"{name}.unsigned.xml").write_bytes(unsigned)
    keys = folder / "pki/keys"
    done = installed.run(
        "sign",
        f"{name}.unsigned.xml",
        f"{name}.xml",
        "--key",
        str(keys / "hospital-01929.key.pem"),
        "--cert",
        str(keys / "hospital-01929.cert.pem"),
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    return (folder / f"{name}.xml").read_bytes()


def _visits(first: int, count: int) -> list[synth.Visit]:
    day = date.today().toordinal() - 20
    return [
        synth.make_visit(
            random.Random(n), facility_code="01929", index=n, day=date.fromordinal(day)
        )
        for n in range(first, first + count)
    ]


def _setup(installed: Installed, folder: Path) -> tuple[dict[str, str], str, str]:
    """A PKI and a partner file made as an operator makes them, with the installed commands;
    the gateway's settings, the hospital's API token and its legacy password."""
    done = installed.run("dev-pki", "--out", "pki", "--partner", "hospital-01929", cwd=folder)
    assert done.returncode == 0, done.stderr
    password, token = "Mat-khau-01929", "installed-token-" + "x" * 24
    legacy = installed.run(
        "legacy-password", "--username", "bv01929", "--password-stdin", cwd=folder, stdin=password
    )
    assert legacy.returncode == 0, legacy.stderr
    certificate = x509.load_pem_x509_certificate(
        (folder / "pki/keys/hospital-01929.cert.pem").read_bytes()
    )
    (folder / "partners.toml").write_text(
        "[[partners]]\n"
        'id = "hospital-01929"\n'
        'kind = "hospital"\n'
        'name = "Installed Test Hospital"\n'
        'services = ["claims.submit", "claims.read"]\n'
        'facility_codes = ["01929"]\n'
        f'certificates = ["{certificate.fingerprint(hashes.SHA256()).hex()}"]\n'
        f'tokens = ["sha256:{hashlib.sha256(token.encode()).hexdigest()}"]\n' + legacy.stdout,
        encoding="utf-8",
    )
    env = installed.env(
        GATEWAY_ENVIRONMENT="development",
        GATEWAY_STORE_URL=f"sqlite:///{folder / 'gateway.sqlite3'}",
        GATEWAY_PARTNERS=str(folder / "partners.toml"),
        GATEWAY_TRUST_STORE=str(folder / "pki/trust"),
        GATEWAY_SIGNING_KEY=str(folder / "pki/keys/gateway.key.pem"),
        GATEWAY_SIGNING_CERT=str(folder / "pki/keys/gateway.cert.pem"),
    )
    return env, token, password


def _serve(installed: Installed, folder: Path, env: dict[str, str]) -> ServerProcess:
    port = free_port()
    argv = [installed.command(), "serve", "--port", str(port)]
    return ServerProcess(argv, url=f"http://127.0.0.1:{port}", env=env, cwd=folder)


def test_the_installed_gateway_serves_every_format(installed: Installed, tmp_path: Path) -> None:
    env, token, password = _setup(installed, tmp_path)

    def sign(name: str, unsigned: bytes) -> bytes:
        return _signed(installed, tmp_path, name, unsigned)

    rest, soap, portal, checked_in = _visits(1, 4)
    documents = {
        "rest": sign("rest", synth.envelope("01929", [synth.tables(rest)], created=date.today())),
        "soap": sign("soap", synth.envelope("01929", [synth.tables(soap)], created=date.today())),
        "portal": sign(
            "portal", synth.envelope("01929", [synth.tables(portal)], created=date.today())
        ),
        "checkin": sign("checkin", checkin_xml([checked_in])),
        "assessment": sign("assessment", assessment_xml([{}])),
    }
    with _serve(installed, tmp_path, env) as server:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=60) as http:
            answer = http.post("/api/v1/claims", content=documents["rest"], headers=XML)
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "accepted"
            signed_receipt = http.get(
                f"/api/v1/receipts/{answer.json()['id']}", headers={"Accept": "application/xml"}
            )
        (tmp_path / "receipt.xml").write_bytes(signed_receipt.content)
        verified = installed.run("verify", "receipt.xml", "--trust", "pki/trust", cwd=tmp_path)
        assert verified.returncode == 0 and "VALID" in verified.stdout, verified.stdout

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        client = zeep.Client(
            f"{server.url}/soap/claims?wsdl",
            transport=zeep.transports.Transport(session=session),
        )
        soap_receipt = client.service.SubmitClaimBatch(Batch=documents["soap"])
        assert soap_receipt.Status == "accepted" and soap_receipt.Result[0].RecordId

        with VssPortalClient(
            server.url, "bv01929", password, ma_tinh="01", ma_cskcb="01929"
        ) as hospital:
            assert hospital.take_token()["maKetQua"] == "200"
            for table, name in (
                ("checkin", "checkin"),
                ("claims", "portal"),
                ("assessment", "assessment"),
            ):
                sent = hospital.send(table, documents[name])
                assert sent["maKetQua"] == "200", (table, sent)


def test_a_missing_or_broken_contract_stops_serve_in_one_line(
    installed: Installed, tmp_path: Path
) -> None:
    env, _, _ = _setup(installed, tmp_path)
    packaged = subprocess.run(
        [
            installed.command("python"),
            "-c",
            "import importlib.resources as r; print(r.files('gateway') / 'contracts')",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    contracts = tmp_path / "contracts"
    shutil.copytree(packaged, contracts)
    (contracts / "xsd/qd130/xml2.xsd").unlink()
    port = str(free_port())
    missing = installed.run(
        "serve", "--port", port, cwd=tmp_path, env={**env, "GATEWAY_CONTRACTS": str(contracts)}
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"configuration error: contract {contracts / 'xsd/qd130/xml2.xsd'} is missing"
    ]
    (contracts / "xsd/qd130/xml2.xsd").write_text("<xs:schema", encoding="utf-8")
    broken = installed.run(
        "serve", "--port", port, cwd=tmp_path, env={**env, "GATEWAY_CONTRACTS": str(contracts)}
    )
    assert broken.returncode == 2
    [line] = broken.stderr.strip().splitlines()
    assert line.startswith(f"configuration error: schema {contracts / 'xsd/qd130/xml2.xsd'} ")


def test_a_private_key_readable_by_others_stops_serve(installed: Installed, tmp_path: Path) -> None:
    env, _, _ = _setup(installed, tmp_path)
    key = tmp_path / "pki/keys/gateway.key.pem"
    key.chmod(0o644)
    refused = installed.run("serve", "--port", str(free_port()), cwd=tmp_path, env=env)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith(f"configuration error: private key {key} has mode 0644")


def _post(url: str, token_file: Path, body: bytes) -> dict[str, Any]:
    token = token_file.read_text(encoding="utf-8").strip()
    answer = httpx.post(
        f"{url}/api/v1/claims",
        content=body,
        headers={**XML, "Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _lookup_over_soap(url: str, folder: Path, token: str) -> Any:
    """The demo citizen's record read by VNeID with zeep, on the packaged lookup.wsdl."""
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {(folder / f'{VNEID}.token').read_text().strip()}"
    with session:
        client = zeep.Client(
            f"{url}/soap/lookup?wsdl", transport=zeep.transports.Transport(session=session)
        )
        return client.service.GetSiRecord(CitizenId=DEMO_CITIZEN, IdToken=token)


def test_the_demo_run_twice_is_the_same_demo(installed: Installed, tmp_path: Path) -> None:
    demo = tmp_path / ".demo"
    port, portal_port, vneid_port, c06_port = (free_port() for _ in range(4))
    argv = [installed.command(), "demo", "--dir", str(demo), "--port", str(port)]
    argv += ["--portal-port", str(portal_port), "--vneid-port", str(vneid_port)]
    argv += ["--population-port", str(c06_port)]
    url, portal_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{portal_port}"
    vneid_url = f"http://127.0.0.1:{vneid_port}"
    # A dossier: the packaged routing, procedures, statuses and dossier XSDs at work.
    sample = DOSSIERS[0].file

    with ServerProcess(argv, url=url, env=installed.env(), cwd=tmp_path):
        first = _post(url, demo / "hospital-01929.token", (demo / "batch-01929.xml").read_bytes())
        assert first["status"] == "accepted" and first["duplicate"] is False
        token = (demo / "hospital-01929.token").read_text(encoding="utf-8").strip()
        receipt_xml = httpx.get(
            f"{url}/api/v1/receipts/{first['id']}",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/xml"},
        ).content
        # The VSS-portal login printed by the demo, as CV 3190 software uses it.
        password = (demo / "hospital-01929.password").read_text(encoding="utf-8").strip()
        with VssPortalClient(url, "bv01929", password, ma_tinh="01", ma_cskcb="01929") as client:
            assert client.take_token()["maKetQua"] == "200"
            checked_in = client.send("checkin", (demo / "checkin-01929.xml").read_bytes())
            claimed = client.send("claims", (demo / "claim-01929.xml").read_bytes())
        assert checked_in["maKetQua"] == "200" and claimed["maKetQua"] == "200", claimed

        entry = dossier_index(demo)[sample]
        received = submit(url, demo, sample)
        assert received.status_code == 202, received.text
        dossier = received.json()
        move(url, demo, dossier["dossier_id"], entry["department"], *MOVES)
        assert statuses_at_portal(portal_url, entry["MaHoSo"], AT_PORTAL) == AT_PORTAL
        # Its citizen was checked at C06, by the client of the packaged population.wsdl.
        calls = httpx.get(f"http://127.0.0.1:{c06_port}/_simulator/calls", timeout=10).json()
        assert [c["operation"] for c in calls] == ["XacThucThongTinCongDan"]

        # Identity: VNeID's lookup with a token of the demo's simulator, over REST and SOAP
        # (the packaged lookup.wsdl), and a hospital's card check.
        token = id_token(vneid_url)
        record = look_up(url, demo, DEMO_CITIZEN, token)
        assert record.status_code == 200, record.text
        assert [card["number"] for card in record.json()["cards"]] == [DEMO_CARD]
        assert _lookup_over_soap(url, demo, token).SiNumber == record.json()["si_number"]
        checked = check_card(url, demo)
        assert (checked["maKetQua"], checked["maThe"]) == ("000", DEMO_CARD), checked

    with ServerProcess(argv, url=url, env=installed.env(), cwd=tmp_path):
        # Made by the first run and not sent: accepted by the second.
        other = _post(url, demo / "hospital-79001.token", (demo / "batch-79001.xml").read_bytes())
        assert other["status"] == "accepted" and other["duplicate"] is False
        # Sent in the first run: the original receipt, marked duplicate.
        again = _post(url, demo / "hospital-01929.token", (demo / "batch-01929.xml").read_bytes())
        assert again["duplicate"] is True and again["id"] == first["id"]
        resent = submit(url, demo, sample).json()
        assert resent["duplicate"] is True and resent["id"] == dossier["id"], resent
        # The kept VNeID partner, a new simulator's token: the same record.
        again_record = look_up(url, demo, DEMO_CITIZEN, id_token(vneid_url))
        assert again_record.status_code == 200, again_record.text
        assert again_record.json() == record.json()
        assert check_card(url, demo)["maKetQua"] == "000"

    (tmp_path / "receipt.xml").write_bytes(receipt_xml)
    verified = installed.run(
        "verify", "receipt.xml", "--trust", str(demo / "pki/trust"), cwd=tmp_path
    )
    assert verified.returncode == 0 and "VALID" in verified.stdout, verified.stdout
