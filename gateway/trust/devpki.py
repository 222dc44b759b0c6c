"""A throwaway development PKI: root and intermediate CAs, partner and gateway certificates, CRLs.

For ``gateway dev-pki``, the demo and the tests only; keys are made at run time and never
committed. Production trust anchors are the real CAs' certificates placed in the trust store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from gateway.trust.sign import SigningIdentity, SigningKey


def new_key(*, rsa_bits: int = 2048, curve: ec.EllipticCurve | None = None) -> SigningKey:
    """An RSA key of ``rsa_bits`` or, given ``curve``, an EC key."""
    if curve is not None:
        return ec.generate_private_key(curve)
    return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "VSS Gateway development PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass
class DevCA:
    """A CA of the development PKI that issues certificates and CRLs."""

    key: SigningKey
    certificate: x509.Certificate
    revoked: list[int] = field(default_factory=list)

    @classmethod
    def root(cls, common_name: str, *, now: datetime | None = None) -> DevCA:
        now = now or datetime.now(UTC)
        key = new_key(rsa_bits=3072)
        name = _name(common_name)
        cert = (
            _builder(name, name, key, now - timedelta(days=1), now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, certificate=cert)

    def intermediate(self, common_name: str, *, now: datetime | None = None) -> DevCA:
        now = now or datetime.now(UTC)
        key = new_key()
        cert = (
            _builder(
                _name(common_name),
                self.certificate.subject,
                key,
                now - timedelta(days=1),
                now + timedelta(days=1825),
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return DevCA(key=key, certificate=cert)

    def issue(
        self,
        common_name: str,
        *,
        key: SigningKey | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> SigningIdentity:
        """A signing certificate (digital signature, non-repudiation) with its chain."""
        now = datetime.now(UTC)
        key = key or new_key()
        cert = (
            _builder(
                _name(common_name),
                self.certificate.subject,
                key,
                not_before or now - timedelta(days=1),
                not_after or now + timedelta(days=730),
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        return SigningIdentity(key=key, certificate=cert, chain=())

    def revoke(self, cert: x509.Certificate) -> None:
        self.revoked.append(cert.serial_number)

    def crl(
        self, *, now: datetime | None = None, valid_for: timedelta = timedelta(days=30)
    ) -> x509.CertificateRevocationList:
        """A CRL listing every certificate revoked so far, valid for ``valid_for``."""
        now = now or datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now - timedelta(minutes=1))
            .next_update(now + valid_for)
        )
        for serial in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - timedelta(minutes=1))
                .build()
            )
        return builder.sign(self.key, hashes.SHA256())


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: SigningKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_identity(identity: SigningIdentity, key_path: Path, cert_path: Path) -> None:
    """Write a key (mode 0600, unencrypted: development only) and its certificate chain."""
    key_path.write_bytes(
        identity.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(b"".join(pem(c) for c in (identity.certificate, *identity.chain)))


@dataclass(frozen=True)
class DevPki:
    """The files of a development PKI, as ``gateway dev-pki`` writes them."""

    trust_store: Path
    identities: dict[str, tuple[Path, Path]]


def gateway_key() -> SigningKey:
    """The gateway's own key: ECDSA P-256, because it signs every receipt and an RSA-2048
    signature costs about ten times as much (bench/README.md); partners verify either."""
    return new_key(curve=ec.SECP256R1())


def write_dev_pki(folder: Path, partners: list[str]) -> DevPki:
    """Root → intermediate → a ``gateway`` certificate and one per partner, CRLs, trust store."""
    folder.mkdir(parents=True, exist_ok=True)
    trust = folder / "trust"
    keys = folder / "keys"
    trust.mkdir(exist_ok=True)
    keys.mkdir(exist_ok=True)
    root = DevCA.root("VSS Gateway Dev Root CA")
    issuing = root.intermediate("VSS Gateway Dev Issuing CA")
    identities: dict[str, tuple[Path, Path]] = {}
    for name in ["gateway", *partners]:
        identity = issuing.issue(name, key=gateway_key() if name == "gateway" else None)
        identity = SigningIdentity(identity.key, identity.certificate, (issuing.certificate,))
        paths = (keys / f"{name}.key.pem", keys / f"{name}.cert.pem")
        write_identity(identity, *paths)
        identities[name] = paths
    (trust / "root-ca.pem").write_bytes(pem(root.certificate))
    (trust / "issuing-ca.pem").write_bytes(pem(issuing.certificate))
    for ca, file in ((root, "root-ca.crl"), (issuing, "issuing-ca.crl")):
        (trust / file).write_bytes(ca.crl().public_bytes(serialization.Encoding.PEM))
    return DevPki(trust_store=trust, identities=identities)
