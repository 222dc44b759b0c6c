"""The stored form of a legacy password: a salted scrypt hash of the uppercase MD5 the client
sends, ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` (``gateway.legacy``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

# scrypt cost: 16 MiB and some 50 ms per check (RFC 7914 section 2 recommends n = 2**14, r = 8
# for interactive logins). Stored hashes may use other parameters within ``_MAX_SCRYPT_MEMORY``.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
_MAX_SCRYPT_MEMORY = 256 * 1024 * 1024


def md5_upper(password: str) -> str:
    """What the client sends for a password: "mã hóa MD5 uppercase" (CV 3190 I.1.2, p. 2)."""
    return hashlib.md5(password.encode(), usedforsecurity=False).hexdigest().upper()


def normalize_md5(value: str) -> str:
    """The password as the stored hash was made from it: 32 hex digits in upper case. CV 3190
    asks for upper case (I.1.2) but some hospital software sends lower case, or MD5 without
    case for ``passwordHash`` (I.2.1); the digest is the same, so the case is not held against
    the client."""
    value = value.strip()
    return value.upper() if _is_md5(value) else value


def _is_md5(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdefABCDEF" for c in value)


def legacy_password_hash(
    md5_upper: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = 1
) -> str:
    """What the partner file stores as ``legacy_password_hash`` for a client that sends
    ``md5_upper`` (the MD5 of its password, 32 hex digits) as ``password``."""
    if not _is_md5(md5_upper.strip()):
        raise ValueError("legacy_password_hash expects the MD5 of the password: 32 hex digits")
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(normalize_md5(md5_upper), salt, n=n, r=r, p=p, size=_KEY_BYTES)
    stored = f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"
    StoredHash.read(stored)  # parameters this module would refuse to check are refused here
    return stored


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(secret: str, salt: bytes, *, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAX_SCRYPT_MEMORY, dklen=size
    )


@dataclass(frozen=True)
class StoredHash:
    """A parsed ``legacy_password_hash``: its scrypt parameters, salt and key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @classmethod
    def read(cls, text: str) -> StoredHash:
        """Raise ``ValueError`` unless ``text`` is a hash ``legacy_password_hash`` could make."""
        scheme, n, r, p, salt, key = text.split("$")
        stored = cls(int(n), int(r), int(p), base64.b64decode(salt), base64.b64decode(key))
        memory = 128 * stored.n * stored.r * stored.p
        if (
            scheme != "scrypt"
            or stored.n < 2
            or stored.n & (stored.n - 1)
            or not 1 <= stored.r <= 64
            or not 1 <= stored.p <= 16
            or memory > _MAX_SCRYPT_MEMORY // 2
            or len(stored.salt) < _SALT_BYTES
            or len(stored.key) < 16
        ):
            raise ValueError("not an scrypt hash of the gateway's format")
        return stored

    def matches(self, presented: str) -> bool:
        candidate = _scrypt(presented, self.salt, n=self.n, r=self.r, p=self.p, size=len(self.key))
        return hmac.compare_digest(candidate, self.key)


def password_version(stored: str) -> str:
    """A short digest of a stored hash, carried in tokens: a new password ends old tokens."""
    return hashlib.sha256(stored.encode()).hexdigest()[:16]
