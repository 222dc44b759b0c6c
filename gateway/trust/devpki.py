"""A throwaway development PKI: root and intermediate CAs, partner and gateway certificates, CRLs.

For ``gateway dev-pki``, the demo and the tests only; keys are made at run time and never
committed. Production trust anchors are the real CAs' certificates placed in the trust store.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _name(common_name: str, *, uid: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "VSS Gateway development PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if uid is not None:
        # Vietnamese CAs name the holder's tax code or personal ID number in the subject's UID
        # (``MST:0101234567``, ``CCCD:001085012345``): a dossier's signer is bound by it.
        attributes.append(x509.NameAttribute(NameOID.USER_ID, uid))
    return x509.Name(attributes)


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
        uid: str | None = None,
    ) -> SigningIdentity:
        """A signing certificate (digital signature, non-repudiation) with its chain; ``uid``
        puts a ``UID`` attribute (such as ``MST:0101234567``) in its subject."""
        now = datetime.now(UTC)
        key = key or new_key()
        cert = (
            _builder(
                _name(common_name, uid=uid),
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


# The CAs of a development PKI: (file stem, common name). Their keys are kept (``ca/``, mode
# 0600) so that the PKI can issue fresh CRLs when it is used again.
_CAS = (("root-ca", "VSS Gateway Dev Root CA"), ("issuing-ca", "VSS Gateway Dev Issuing CA"))
# A CRL with less validity left than this is issued anew when the PKI is reused.
CRL_RENEWAL = timedelta(days=7)


@dataclass(frozen=True)
class DevPki:
    """The files of a development PKI, as ``gateway dev-pki`` writes them: ``trust/`` (the CA
    certificates and CRLs: a trust store), ``ca/`` (the CA keys), ``keys/`` (a key and a
    certificate chain per name)."""

    folder: Path
    names: tuple[str, ...]

    @property
    def trust_store(self) -> Path:
        return self.folder / "trust"

    @property
    def identities(self) -> dict[str, tuple[Path, Path]]:
        keys = self.folder / "keys"
        return {n: (keys / f"{n}.key.pem", keys / f"{n}.cert.pem") for n in self.names}

    def _ca_files(self, stem: str) -> tuple[Path, Path, Path]:
        """Key, certificate and CRL of one CA."""
        trust = self.trust_store
        return self.folder / "ca" / f"{stem}.key.pem", trust / f"{stem}.pem", trust / f"{stem}.crl"

    def complete(self) -> bool:
        """Whether every file of the PKI is there (a PKI with one missing is not reused)."""
        files = [f for stem, _ in _CAS for f in self._ca_files(stem)]
        files += [f for pair in self.identities.values() for f in pair]
        return all(f.is_file() for f in files)

    def renew_crls(self, *, now: datetime | None = None) -> list[Path]:
        """Issue anew, with the same revoked serials, every CRL that has less than
        ``CRL_RENEWAL`` left; return the CRLs written."""
        now = now or datetime.now(UTC)
        written = []
        for stem, _ in _CAS:
            key_path, cert_path, crl_path = self._ca_files(stem)
            old = x509.load_pem_x509_crl(crl_path.read_bytes())
            if old.next_update_utc is not None and old.next_update_utc - now > CRL_RENEWAL:
                continue
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an RSA or EC key")
            ca = DevCA(
                key=key,
                certificate=x509.load_pem_x509_certificate(cert_path.read_bytes()),
                revoked=[entry.serial_number for entry in old],
            )
            crl_path.write_bytes(ca.crl(now=now).public_bytes(serialization.Encoding.PEM))
            written.append(crl_path)
        return written


def gateway_key() -> SigningKey:
    """The gateway's own key: ECDSA P-256, because it signs every receipt and an RSA-2048
    signature costs about ten times as much (bench/README.md); partners verify either."""
    return new_key(curve=ec.SECP256R1())


def write_dev_pki(
    folder: Path, partners: list[str], *, holders: Mapping[str, tuple[str, str]] | None = None
) -> DevPki:
    """Root → intermediate → a ``gateway`` certificate and one per partner, CRLs, trust store;
    ``holders`` (file name → common name and UID, such as ``CCCD:001085012345``): certificates
    of the citizens and units that sign their own dossiers."""
    holders = holders or {}
    pki = DevPki(folder, ("gateway", *partners, *holders))
    for sub in ("trust", "keys", "ca"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    root = DevCA.root(_CAS[0][1])
    issuing = root.intermediate(_CAS[1][1])
    for (stem, _), ca in zip(_CAS, (root, issuing), strict=True):
        key_path, cert_path, crl_path = pki._ca_files(stem)
        write_identity(SigningIdentity(ca.key, ca.certificate), key_path, cert_path)
        crl_path.write_bytes(ca.crl().public_bytes(serialization.Encoding.PEM))
    for name, (key_path, cert_path) in pki.identities.items():
        common_name, uid = holders.get(name, (name, None))
        key = gateway_key() if name == "gateway" else None
        identity = issuing.issue(common_name, key=key, uid=uid)
        write_identity(
            SigningIdentity(identity.key, identity.certificate, (issuing.certificate,)),
            key_path,
            cert_path,
        )
    return pki
