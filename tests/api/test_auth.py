"""Authentication and authorization over real HTTP (SPEC section 2): tokens, client certificates
(forwarded by a trusted proxy or presented in a real mutual TLS handshake), services, partners."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.bootstrap import build
from gateway.config import Settings
from gateway.trust.anchors import fingerprint
from gateway.trust.devpki import pem, write_identity
from gateway.trust.sign import SigningIdentity
from tests.conftest import HOSPITAL, OTHER_HOSPITAL, TOKENS, Pki, Served, counts

XML = {"Content-Type": "application/xml"}
PROBLEM = "application/problem+json"
NOTHING = {"receipts": 0, "records": 0, "originals": 0}
REJECTION_ONLY = {"receipts": 1, "records": 0, "originals": 0}
Batch = Callable[..., bytes]


def assert_problem(answer: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].split(";")[0] == PROBLEM
    body: dict[str, object] = answer.json()
    assert body["status"] == status
    assert body["code"] == code
    return body


def bearer(partner: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[partner]}"}


def forwarded(cert: x509.Certificate) -> dict[str, str]:
    """The header nginx sets from ``$ssl_client_escaped_cert``."""
    return {"x-ssl-client-cert": quote(pem(cert).decode(), safe="")}


# --- Tokens, services, source networks ------------------------------------------------------


def test_request_without_credential_is_unauthorized(served: Served, batch: Batch) -> None:
    with served.client(None) as http:
        answer = http.post("/api/v1/claims", content=batch(), headers=XML)
        assert_problem(answer, 401, "UNAUTHORIZED")
        assert_problem(http.get("/api/v1/receipts/unknown"), 401, "UNAUTHORIZED")
    assert counts(served.gateway) == NOTHING


def test_unknown_token_is_unauthorized(served: Served, batch: Batch) -> None:
    headers = {**XML, "Authorization": "Bearer tok-nobody-" + "z" * 20}
    with served.client(None) as http:
        answer = http.post("/api/v1/claims", content=batch(), headers=headers)
    assert_problem(answer, 401, "UNAUTHORIZED")
    assert counts(served.gateway) == NOTHING


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic aG9zcGl0YWwtMDE5Mjk6c2VjcmV0",
        f"Token {TOKENS[HOSPITAL]}",
        "Bearer",
        TOKENS[HOSPITAL],
    ],
    ids=["basic", "other-scheme", "bearer-without-token", "bare-token"],
)
def test_malformed_authorization_is_unauthorized(
    served: Served, batch: Batch, authorization: str
) -> None:
    headers = {**XML, "Authorization": authorization}
    with served.client(None) as http:
        answer = http.post("/api/v1/claims", content=batch(), headers=headers)
    assert_problem(answer, 401, "UNAUTHORIZED")
    assert counts(served.gateway) == NOTHING


def test_partner_not_granted_claims_submit_is_forbidden(served: Served, batch: Batch) -> None:
    with served.client("reader") as http:
        answer = http.post("/api/v1/claims", content=batch(), headers=XML)
        assert_problem(answer, 403, "FORBIDDEN")
        # The same partner is authenticated: a read it is granted gets past authorization.
        assert_problem(http.get("/api/v1/claims/unknown"), 404, "NOT_FOUND")
    assert counts(served.gateway) == NOTHING


def test_partner_calling_from_outside_its_source_networks_is_forbidden(
    served: Served, batch: Batch
) -> None:
    with served.client("elsewhere") as http:
        answer = http.post(
            "/api/v1/claims", content=batch(facility="01001"), headers=XML
        )  # from 127.0.0.1, not in 203.0.113.0/24
        assert_problem(answer, 403, "FORBIDDEN")
        assert_problem(http.get("/api/v1/receipts/unknown"), 403, "FORBIDDEN")
    assert counts(served.gateway) == NOTHING


# --- Who signed, and for which facility -----------------------------------------------------


def test_hospital_signing_with_its_own_certificate_for_its_own_facility_is_accepted(
    served: Served, batch: Batch, pki: Pki
) -> None:
    body = batch(identity=pki.other_hospital, facility="79001")
    with served.client(OTHER_HOSPITAL) as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted"
    assert answer.json()["partner_id"] == OTHER_HOSPITAL


def test_batch_signed_with_another_partners_certificate_is_forbidden(
    served: Served, batch: Batch, pki: Pki
) -> None:
    # Facility 79001 is the caller's own: only the signer is wrong.
    body = batch(identity=pki.hospital, facility="79001")
    with served.client(OTHER_HOSPITAL) as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
        problem = assert_problem(answer, 403, "FORBIDDEN")
        assert counts(served.gateway) == REJECTION_ONLY
        receipt = http.get(f"/api/v1/receipts/{problem['receipt_id']}")
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["status"] == "rejected"
    assert receipt.json()["partner_id"] == OTHER_HOSPITAL
    assert receipt.json()["error"]["code"] == "FORBIDDEN"
    assert receipt.json()["results"] == []


def test_hospital_submitting_for_another_facility_is_forbidden(
    served: Served, batch: Batch, pki: Pki
) -> None:
    body = batch(identity=pki.hospital, facility="79001")
    with served.client(HOSPITAL) as http:
        answer = http.post("/api/v1/claims", content=body, headers=XML)
        problem = assert_problem(answer, 403, "FORBIDDEN")
        assert "79001" in str(problem["detail"])
        assert counts(served.gateway) == REJECTION_ONLY
        receipt = http.get(f"/api/v1/receipts/{problem['receipt_id']}")
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["error"]["code"] == "FORBIDDEN"


def test_another_partners_record_and_receipt_are_not_found(served: Served, batch: Batch) -> None:
    with served.client(HOSPITAL) as owner:
        answer = owner.post("/api/v1/claims", content=batch(1), headers=XML)
        assert answer.status_code == 200, answer.text
        receipt_id = answer.json()["id"]
        record_id = answer.json()["results"][0]["record_id"]
        paths = (
            f"/api/v1/claims/{record_id}",
            f"/api/v1/claims/{record_id}/original",
            f"/api/v1/receipts/{receipt_id}",
        )
        for path in paths:
            assert owner.get(path).status_code == 200, path
    unknown = "0" * 26
    with served.client(OTHER_HOSPITAL) as stranger:
        for path in paths:
            theirs = stranger.get(path)
            assert_problem(theirs, 404, "NOT_FOUND")
            # Exactly what an id that does not exist answers: no existence leak.
            missing = stranger.get(path.replace(record_id, unknown).replace(receipt_id, unknown))
            assert_problem(missing, 404, "NOT_FOUND")
            assert theirs.text.replace(record_id, unknown).replace(receipt_id, unknown) == (
                missing.text
            )


# --- Certificates forwarded by a reverse proxy ------------------------------------------------


def test_forwarded_certificate_from_untrusted_address_is_unauthorized(
    served: Served, pki: Pki
) -> None:
    assert served.gateway.settings.trusted_proxies == []
    with served.client(None) as http:
        answer = http.get("/api/v1/receipts/unknown", headers=forwarded(pki.hospital.certificate))
    assert_problem(answer, 401, "UNAUTHORIZED")


@pytest.fixture
def proxied(settings: Settings) -> Iterator[Served]:
    """A gateway behind a reverse proxy on 127.0.0.1 that forwards verified client certificates."""
    built = build(settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32"]}))
    try:
        with Served(built) as server:
            yield server
    finally:
        built.close()


def test_forwarded_registered_certificate_authenticates_its_partner(
    proxied: Served, pki: Pki, batch: Batch
) -> None:
    with proxied.client(None) as http:
        answer = http.get(
            "/api/v1/receipts/unknown", headers=forwarded(pki.other_hospital.certificate)
        )
        assert_problem(answer, 404, "NOT_FOUND")
        posted = http.post(
            "/api/v1/claims",
            content=batch(),
            headers={**XML, **forwarded(pki.hospital.certificate)},
        )
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "accepted"
    assert posted.json()["partner_id"] == HOSPITAL


def test_forwarded_unregistered_certificate_is_unauthorized(proxied: Served, pki: Pki) -> None:
    stranger = pki.issuing.issue("hospital-unregistered").certificate
    with proxied.client(None) as http:
        answer = http.get("/api/v1/receipts/unknown", headers=forwarded(stranger))
        assert_problem(answer, 401, "UNAUTHORIZED")
        # A valid token does not make up for a certificate that names no partner.
        with_token = http.get(
            "/api/v1/receipts/unknown", headers={**forwarded(stranger), **bearer(HOSPITAL)}
        )
    assert_problem(with_token, 401, "UNAUTHORIZED")


def test_forwarded_unreadable_certificate_is_unauthorized(proxied: Served) -> None:
    garbage = quote("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with proxied.client(None) as http:
        answer = http.get("/api/v1/receipts/unknown", headers={"x-ssl-client-cert": garbage})
    assert_problem(answer, 401, "UNAUTHORIZED")


def test_certificate_and_token_of_different_partners_are_unauthorized(
    proxied: Served, pki: Pki
) -> None:
    with proxied.client(None) as http:
        same = http.get(
            "/api/v1/receipts/unknown",
            headers={**forwarded(pki.hospital.certificate), **bearer(HOSPITAL)},
        )
        assert_problem(same, 404, "NOT_FOUND")
        mixed = http.get(
            "/api/v1/receipts/unknown",
            headers={**forwarded(pki.hospital.certificate), **bearer(OTHER_HOSPITAL)},
        )
    assert_problem(mixed, 401, "UNAUTHORIZED")


# --- Real mutual TLS: the gateway terminates TLS itself ---------------------------------------


def _server_identity(pki: Pki) -> SigningIdentity:
    """A TLS server certificate for localhost / 127.0.0.1, issued by the test issuing CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(pki.issuing.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                pki.issuing.certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
        .sign(pki.issuing.key, hashes.SHA256())
    )
    return SigningIdentity(key, cert, (pki.issuing.certificate,))


class Tls:
    """A gateway served over HTTPS that asks for (but does not require) client certificates."""

    def __init__(self, server: Served, folder: Path, ca_bundle: Path, auditor: SigningIdentity):
        self.server = server
        self.folder = folder
        self.ca_bundle = ca_bundle
        self.auditor = auditor

    def client(self, identity: SigningIdentity | None) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        # The development CAs carry no key identifiers, which OpenSSL's strict mode demands.
        context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
        if identity is not None:
            key_path = self.folder / f"client-{fingerprint(identity.certificate)[:16]}.key.pem"
            cert_path = key_path.with_suffix(".cert.pem")
            write_identity(identity, key_path, cert_path)
            context.load_cert_chain(cert_path, key_path)
        return httpx.Client(base_url=self.server.url, verify=context, timeout=30)


@pytest.fixture
def tls(pki: Pki, settings: Settings, tmp_path: Path) -> Iterator[Tls]:
    folder = tmp_path / "tls"
    folder.mkdir()
    ca_bundle = folder / "ca-bundle.pem"
    ca_bundle.write_bytes(pem(pki.root.certificate) + pem(pki.issuing.certificate))
    server_key, server_cert = folder / "server.key.pem", folder / "server.cert.pem"
    write_identity(_server_identity(pki), server_key, server_cert)
    # A partner with a registered certificate but only claims.read.
    auditor = pki.issuing.issue("auditor")
    partners = tmp_path / "partners-tls.toml"
    partners.write_text(
        settings.partners.read_text(encoding="utf-8")
        + f"""
[[partners]]
id = "auditor"
kind = "department"
name = "Auditor with a client certificate"
services = ["claims.read"]
certificates = ["{fingerprint(auditor.certificate)}"]
""",
        encoding="utf-8",
    )
    # 127.0.0.1 is also a trusted proxy: a forwarded header must still not replace the TLS peer.
    built = build(
        settings.model_copy(update={"partners": partners, "trusted_proxies": ["127.0.0.1/32"]})
    )
    try:
        with Served(
            built,
            ssl_certfile=str(server_cert),
            ssl_keyfile=str(server_key),
            ssl_ca_certs=str(ca_bundle),
            ssl_cert_reqs=ssl.CERT_OPTIONAL,
        ) as server:
            assert server.url.startswith("https://")
            yield Tls(server, folder, ca_bundle, auditor)
    finally:
        built.close()


def test_client_certificate_alone_authenticates_a_signed_batch(
    tls: Tls, pki: Pki, batch: Batch
) -> None:
    with tls.client(pki.hospital) as http:
        answer = http.post("/api/v1/claims", content=batch(), headers=XML)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted"
    assert answer.json()["partner_id"] == HOSPITAL
    assert counts(tls.server.gateway) == {"receipts": 1, "records": 2, "originals": 1}


def test_client_certificate_of_partner_without_the_service_is_forbidden(
    tls: Tls, batch: Batch
) -> None:
    with tls.client(tls.auditor) as http:
        answer = http.post("/api/v1/claims", content=batch(), headers=XML)
        assert_problem(answer, 403, "FORBIDDEN")
        assert_problem(http.get("/api/v1/claims/unknown"), 404, "NOT_FOUND")
    assert counts(tls.server.gateway) == NOTHING


def test_https_without_client_certificate_or_token_is_unauthorized(tls: Tls, batch: Batch) -> None:
    with tls.client(None) as http:
        answer = http.post("/api/v1/claims", content=batch(), headers=XML)
        assert_problem(answer, 401, "UNAUTHORIZED")
        # The same connection with a token is accepted: only the credential was missing.
        with_token = http.post(
            "/api/v1/claims", content=batch(), headers={**XML, **bearer(HOSPITAL)}
        )
    assert with_token.status_code == 200, with_token.text
    assert counts(tls.server.gateway) == {"receipts": 1, "records": 2, "originals": 1}


def test_client_certificate_and_token_of_different_partners_are_unauthorized(
    tls: Tls, pki: Pki
) -> None:
    with tls.client(pki.hospital) as http:
        answer = http.get("/api/v1/receipts/unknown", headers=bearer(OTHER_HOSPITAL))
    assert_problem(answer, 401, "UNAUTHORIZED")


def test_forwarded_certificate_does_not_override_the_tls_peer(tls: Tls, pki: Pki) -> None:
    """A header from a trusted proxy address cannot swap the identity of the TLS handshake."""
    with tls.client(tls.auditor) as http:
        answer = http.post(
            "/api/v1/claims",
            content=b"<x/>",
            headers={**XML, **forwarded(pki.hospital.certificate)},
        )
    assert_problem(answer, 403, "FORBIDDEN")


def test_unregistered_client_certificate_is_unauthorized(tls: Tls, pki: Pki) -> None:
    stranger = pki.issuing.issue("hospital-unregistered")
    with tls.client(stranger) as http:
        assert_problem(http.get("/api/v1/receipts/unknown"), 401, "UNAUTHORIZED")
        with_token = http.get("/api/v1/receipts/unknown", headers=bearer(HOSPITAL))
    assert_problem(with_token, 401, "UNAUTHORIZED")


def test_client_certificate_from_an_untrusted_ca_fails_the_handshake(tls: Tls, pki: Pki) -> None:
    # Registered to hospital-01929 in the partner file, but not issued under the trust store.
    untrusted = pki.bad["untrusted"]
    assert tls.server.gateway.partners.by_certificate(fingerprint(untrusted.certificate))
    with tls.client(untrusted) as http, pytest.raises(httpx.TransportError):
        http.get("/api/v1/receipts/unknown", headers=bearer(HOSPITAL))


def test_source_network_is_checked_on_the_address_a_trusted_proxy_saw(
    settings: Settings,
) -> None:
    proxied = build(settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32"]}))
    headers = {"Authorization": f"Bearer {TOKENS['elsewhere']}"}
    with Served(proxied) as served, httpx.Client(base_url=served.url, headers=headers) as http:
        inside = http.get("/api/v1/receipts/unknown", headers={"X-Forwarded-For": "203.0.113.7"})
        outside = http.get("/api/v1/receipts/unknown", headers={"X-Forwarded-For": "198.51.100.1"})
    proxied.close()
    assert (inside.status_code, inside.json()["code"]) == (404, "NOT_FOUND")
    assert (outside.status_code, outside.json()["code"]) == (403, "FORBIDDEN")


def test_forwarded_for_from_an_untrusted_peer_is_ignored(served: Served) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['elsewhere']}", "X-Forwarded-For": "203.0.113.7"}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        answer = http.get("/api/v1/receipts/unknown")
    assert (answer.status_code, answer.json()["code"]) == (403, "FORBIDDEN")


def test_a_malformed_trusted_proxy_stops_startup(settings: Settings) -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        Settings(**{**settings.model_dump(), "trusted_proxies": ["not-a-network"]})
