"""The benches' world: a throwaway PKI, a partner file, settings and distinct signed QĐ 130 batches.

Built in a temporary folder with ``gateway.trust.devpki`` (root → issuing CA → hospital, employer
and gateway certificates, CRLs), the way the test suite builds its own, without importing from
``tests/``.
"""

from __future__ import annotations

import base64
import hashlib
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from lxml import etree

from adapters.hospital.synth import make_batch
from gateway.config import Settings
from gateway.partners import token_hash
from gateway.trust.anchors import fingerprint
from gateway.trust.devpki import DevCA, gateway_key, pem, write_identity
from gateway.trust.sign import SigningIdentity
from gateway.xml.parser import XmlLimits, parse

FACILITY = "01929"
PARTNER_ID = f"hospital-{FACILITY}"
TOKEN = "tok-bench-hospital-" + "b" * 24
PORTAL_ID = "portal-bench"
PORTAL_TOKEN = "tok-bench-portal-" + "p" * 24
# The employer that signs the benches' e-dossiers, named by its tax code as Vietnamese CAs do.
EMPLOYER_TAX_CODE = "0101234567"

# Two QĐ 130 visits (HOSO) per batch, kept when the signed batch is within ±20 % of 20 KB: that
# keeps two outpatient visits (XML1 + XML2 + XML3 each) and drops batches with a long inpatient
# stay, which run to 30-120 KB.
HOSO_PER_BATCH = 2
MIN_BYTES = 22_000
MAX_BYTES = 32_000


@dataclass(frozen=True)
class World:
    """The files a gateway needs (trust store, partner file, receipt-signing key), the
    hospital identity that signs the batches and the employer that signs e-dossiers."""

    folder: Path
    hospital: SigningIdentity
    employer: SigningIdentity
    trust_store: Path
    partners: Path
    gateway_key: Path
    gateway_cert: Path
    hospital_key: Path
    hospital_cert: Path
    employer_key: Path
    employer_cert: Path

    def settings(self, store: Path) -> Settings:
        """Settings of a development gateway over a SQLite store at ``store``."""
        return Settings(
            environment="development",
            store_url=f"sqlite:///{store}",
            partners=self.partners,
            trust_store=self.trust_store,
            signing_key=self.gateway_key,
            signing_cert=self.gateway_cert,
        )

    def environment(self, store: Path) -> dict[str, str]:
        """The same settings as ``GATEWAY_*`` variables, for ``gateway serve`` in a subprocess."""
        return {
            "GATEWAY_ENVIRONMENT": "development",
            "GATEWAY_STORE_URL": f"sqlite:///{store}",
            "GATEWAY_PARTNERS": str(self.partners),
            "GATEWAY_TRUST_STORE": str(self.trust_store),
            "GATEWAY_SIGNING_KEY": str(self.gateway_key),
            "GATEWAY_SIGNING_CERT": str(self.gateway_cert),
        }


def make_world(folder: Path, *, facilities: tuple[str, ...] = (FACILITY,)) -> World:
    """Root → issuing CA → hospital, employer and gateway certificates, CRLs and a partner file
    of the hospital (sending for ``facilities``) and of a portal."""
    root = DevCA.root("Bench Root CA")
    issuing = root.intermediate("Bench Issuing CA")
    hospital = issuing.issue(PARTNER_ID)
    hospital = SigningIdentity(hospital.key, hospital.certificate, (issuing.certificate,))
    employer = issuing.issue("Công ty TNHH Bench", uid=f"MST:{EMPLOYER_TAX_CODE}")
    employer = SigningIdentity(employer.key, employer.certificate, (issuing.certificate,))
    gateway = issuing.issue("gateway", key=gateway_key())
    gateway = SigningIdentity(gateway.key, gateway.certificate, (issuing.certificate,))
    trust = folder / "trust"
    trust.mkdir(parents=True, exist_ok=True)
    for name, ca in (("root", root), ("issuing", issuing)):
        (trust / f"{name}.pem").write_bytes(pem(ca.certificate))
        (trust / f"{name}.crl").write_bytes(ca.crl().public_bytes(serialization.Encoding.PEM))
    keys = folder / "keys"
    keys.mkdir(exist_ok=True)
    write_identity(gateway, keys / "gateway.key.pem", keys / "gateway.cert.pem")
    write_identity(hospital, keys / "hospital.key.pem", keys / "hospital.cert.pem")
    write_identity(employer, keys / "employer.key.pem", keys / "employer.cert.pem")
    partners = folder / "partners.toml"
    partners.write_text(
        f"""
[[partners]]
id = "{PARTNER_ID}"
kind = "hospital"
name = "Bench General Hospital"
services = ["claims.submit", "claims.read"]
facility_codes = [{", ".join(f'"{code}"' for code in facilities)}]
certificates = ["{fingerprint(hospital.certificate)}"]
tokens = ["{token_hash(TOKEN)}"]

[[partners]]
id = "{PORTAL_ID}"
kind = "portal"
name = "Bench national public service portal"
services = ["dossiers.submit", "dossiers.read"]
tokens = ["{token_hash(PORTAL_TOKEN)}"]
""",
        encoding="utf-8",
    )
    return World(
        folder=folder,
        hospital=hospital,
        employer=employer,
        trust_store=trust,
        partners=partners,
        gateway_key=keys / "gateway.key.pem",
        gateway_cert=keys / "gateway.cert.pem",
        hospital_key=keys / "hospital.key.pem",
        hospital_cert=keys / "hospital.cert.pem",
        employer_key=keys / "employer.key.pem",
        employer_cert=keys / "employer.cert.pem",
    )


def signed_documents(
    identity: SigningIdentity, count: int, *, first_seed: int = 0, seed_step: int = 1
) -> list[bytes]:
    """``count`` distinct signed batches of about 20 KB, from seeds ``first_seed``, +step, …"""
    documents: list[bytes] = []
    seed = first_seed
    created = date.today()
    while len(documents) < count:
        data, _ = make_batch(
            random.Random(seed),
            identity,
            FACILITY,
            HOSO_PER_BATCH,
            created=created,
            first_index=seed * HOSO_PER_BATCH + 1,  # distinct visits: no resent versions
        )
        if MIN_BYTES <= len(data) <= MAX_BYTES:
            documents.append(data)
        seed += seed_step
    return documents


def _generate(key: Path, cert: Path, count: int, first_seed: int, step: int) -> list[bytes]:
    return signed_documents(
        SigningIdentity.from_files(key, cert), count, first_seed=first_seed, seed_step=step
    )


def signed_documents_parallel(world: World, count: int, *, processes: int) -> list[bytes]:
    """``signed_documents`` spread over ``processes`` processes (seeds interleaved, so distinct)."""
    if processes <= 1:
        return signed_documents(world.hospital, count)
    shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(_generate, world.hospital_key, world.hospital_cert, share, i, processes)
            for i, share in enumerate(shares)
        ]
        documents = [doc for future in futures for doc in future.result()]
    if len({hashlib.sha256(d).digest() for d in documents}) != len(documents):
        raise RuntimeError("two generated batches are identical; they would be duplicates")
    return documents


@dataclass(frozen=True)
class Shape:
    """Size of one batch: bytes, elements of the envelope, elements of its embedded tables."""

    size: int
    envelope_elements: int
    table_elements: int
    tables: int

    @property
    def elements(self) -> int:
        return self.envelope_elements + self.table_elements


def shape(document: bytes) -> Shape:
    limits = XmlLimits()
    root = parse(document, limits)
    inner = 0
    tables = 0
    for content in root.iter("NOIDUNGFILE"):
        table = parse(base64.b64decode(content.text or ""), limits)
        inner += sum(1 for _ in table.iter(etree.Element))
        tables += 1
    return Shape(len(document), sum(1 for _ in root.iter(etree.Element)), inner, tables)
