"""What the gateway and the simulator share of C06's protocol (reference/IDENTITY.md section 1):
namespaces, operation names, the NDXP headers and how the ``Authorization`` one is made."""

from __future__ import annotations

import base64
import hashlib
import unicodedata

NS = "http://dancuquocgia.bca"
NS_DANCU = "http://www.mic.gov.vn/dancu/1.0"
VERIFY = "XacThucThongTinCongDan"
LOOKUP = "TraCuuThongTinCongDan"
# The request's leading fields, in the order C06 requires ("some key must order by this").
HEADER_FIELDS = ("MaYeuCau", "MaDVC", "MaTichHop", "MaCanBo")
# NDXP (X-Road) HTTP headers of every call.
TIMESTAMP, AUTHORIZATION, CLIENT, API_KEY = "Timestamp", "Authorization", "X-Road-Client", "ApiKey"
# How far a Timestamp may be from the receiver's clock, in milliseconds.
MAX_SKEW_MS = 5 * 60 * 1000


def authorization(url: str, username: str, timestamp: str, secret: str) -> str:
    """``Basic base64(user:sha256hex(url + user + timestamp + secret))``: C06's scheme."""
    digest = hashlib.sha256(f"{url}{username}{timestamp}{secret}".encode()).hexdigest()
    return "Basic " + base64.b64encode(f"{username}:{digest}".encode()).decode("ascii")


def canonical_name(name: str) -> str:
    """A name as C06 holds it: upper-case, NFC, single spaces."""
    return " ".join(unicodedata.normalize("NFC", name).upper().split())
