"""``gateway demo``: a development PKI, demo partners with their credentials, signed sample
documents and a database, kept in one folder and reused by the next run; then serve.

A second run is the same demo: it reuses what the first one created and creates only what is
missing, so that batches made, receipts given and tokens printed by the first run still hold.
Without its PKI a demo folder starts afresh (everything else it holds was made for that PKI);
``--reset`` starts afresh on purpose. Only the files the demo makes are ever deleted.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from adapters.hospital import synth
from gateway.legacy import legacy_password_hash, md5_upper
from gateway.partners import token_hash
from gateway.trust.anchors import fingerprint
from gateway.trust.devpki import DevPki, write_dev_pki
from gateway.trust.sign import SigningIdentity


@dataclass(frozen=True)
class DemoHospital:
    """A demo hospital: partner id, facility code (MACSKCB), province code (maTinh), name."""

    partner_id: str
    facility: str
    province: str
    name: str

    @property
    def username(self) -> str:
        """Its login on the VSS-portal API (CV 3190 I.1)."""
        return f"bv{self.facility}"


HOSPITALS = (
    DemoHospital("hospital-01929", "01929", "01", "Demo General Hospital (Hà Nội)"),
    DemoHospital("hospital-79001", "79001", "79", "Demo Provincial Hospital (TP. Hồ Chí Minh)"),
)
# What the demo writes besides pki/, by pattern: what --reset deletes, and nothing else.
_MADE = (
    "partners.toml",
    "*.token",
    "*.password",
    "batch-*.xml",
    "checkin-*.xml",
    "claim-*.xml",
    "gateway.sqlite3*",
)


def _partner_entry(hospital: DemoHospital, certificate: str, token: str, password: str) -> str:
    return (
        "[[partners]]\n"
        f'id = "{hospital.partner_id}"\n'
        'kind = "hospital"\n'
        f'name = "{hospital.name}"\n'
        'services = ["claims.submit", "claims.read", "signals.read"]\n'
        f'facility_codes = ["{hospital.facility}"]\n'
        f'certificates = ["{certificate}"]\n'
        f'tokens = ["{token_hash(token)}"]\n'
        f'legacy_username = "{hospital.username}"\n'
        f'legacy_password_hash = "{legacy_password_hash(md5_upper(password))}"\n'
    )


def _secret(path: Path) -> tuple[str, bool]:
    """The secret kept in ``path`` (mode 0600), made if missing; and whether it was made."""
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    value = secrets.token_urlsafe(18)
    path.touch(mode=0o600)
    path.write_text(value + "\n", encoding="utf-8")
    return value, True


def _sample(path: Path, make: Callable[[], bytes]) -> None:
    if not path.is_file():
        path.write_bytes(make())


def _samples(folder: Path, hospital: DemoHospital, identity: SigningIdentity) -> None:
    """Signed sample documents: a 3-visit batch for the REST and SOAP APIs; a check-in and the
    later claim of one more visit, for the VSS-portal API (the claim links to its check-in)."""
    code, today = hospital.facility, date.today()
    batch_rng = random.Random(code)  # noqa: S311 - synthetic data, not security
    _sample(
        folder / f"batch-{code}.xml",
        lambda: synth.make_batch(batch_rng, identity, code, 3, created=today)[0],
    )
    # Visit 101, numbered apart from the batch's 1–3 so that its MA_LK is its own; drawn from
    # its own seed, so that a check-in and a claim made in different runs are of one visit.
    # It arrived 30 days ago, as make_batch's visits do, so that it ended before the claim.
    visit_rng = random.Random(f"{code}-101")  # noqa: S311 - synthetic data, not security
    visit = synth.make_visit(visit_rng, facility_code=code, index=101, day=today - timedelta(30))
    _sample(folder / f"checkin-{code}.xml", lambda: synth.signed_checkin(identity, visit))
    _sample(
        folder / f"claim-{code}.xml",
        lambda: synth.signed_batch(identity, code, [visit], created=today),
    )


def reset(folder: Path) -> None:
    """Delete what an earlier demo made in ``folder``; anything else stays."""
    shutil.rmtree(folder / "pki", ignore_errors=True)
    for pattern in _MADE:
        for path in folder.glob(pattern):
            path.unlink()


def prepare(folder: Path, *, start_afresh: bool = False) -> dict[str, str]:
    """Make in ``folder`` what the demo needs and is not there yet; return the GATEWAY_*
    settings of the demo gateway."""
    pki = DevPki(folder / "pki", ("gateway", *(h.partner_id for h in HOSPITALS)))
    if start_afresh or not pki.complete():
        reset(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if pki.complete():
        pki.renew_crls()
    else:
        pki = write_dev_pki(pki.folder, list(pki.names[1:]))
    entries, made = [], False
    for hospital in HOSPITALS:
        identity = SigningIdentity.from_files(*pki.identities[hospital.partner_id])
        token, new_token = _secret(folder / f"{hospital.partner_id}.token")
        password, new_password = _secret(folder / f"{hospital.partner_id}.password")
        made = made or new_token or new_password
        entries.append(_partner_entry(hospital, fingerprint(identity.certificate), token, password))
        _samples(folder, hospital, identity)
    partners = folder / "partners.toml"
    if made or not partners.is_file():
        partners.write_text("\n".join(entries), encoding="utf-8")
    gateway_key, gateway_cert = pki.identities["gateway"]
    return {
        "GATEWAY_ENVIRONMENT": "development",
        "GATEWAY_STORE_URL": f"sqlite:///{folder / 'gateway.sqlite3'}",
        "GATEWAY_PARTNERS": str(partners),
        "GATEWAY_TRUST_STORE": str(pki.trust_store),
        "GATEWAY_SIGNING_KEY": str(gateway_key),
        "GATEWAY_SIGNING_CERT": str(gateway_cert),
    }


def _banner(folder: Path, base: str, trust: str) -> str:
    first = HOSPITALS[0]
    accounts = "\n".join(
        f"  {h.partner_id}: API token in {folder}/{h.partner_id}.token; VSS-portal login "
        f"{h.username} / password in {folder}/{h.partner_id}.password (maCSKCB {h.facility}, "
        f"maTinh {h.province})"
        for h in HOSPITALS
    )
    return f"""
VSS gateway demo — files in {folder}/ (kept for the next run; gateway demo --reset starts afresh)
{accounts}
  API docs:      {base}/docs        WSDL: {base}/soap/claims?wsdl
  send a batch:  curl -s -H "Authorization: Bearer $(cat {folder}/{first.partner_id}.token)" \\
                   -H "Content-Type: application/xml" \\
                   --data-binary @{folder}/batch-{first.facility}.xml {base}/api/v1/claims
  or:            gateway submit {folder}/batch-{first.facility}.xml --url {base} \\
                   --token "$(cat {folder}/{first.partner_id}.token)"
  VSS-portal API (CV 3190, README): token/take, then checkInKcbQd130 with
                   {folder}/checkin-{first.facility}.xml and guiHoSoXmlQD130 with
                   {folder}/claim-{first.facility}.xml
  verify receipt offline: gateway verify receipt.xml --trust {trust}
"""


def run_demo(folder: Path, *, host: str, port: int, start_afresh: bool = False) -> None:
    """Prepare the demo and serve it until interrupted."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.api.connections import GuardedH11Protocol
    from gateway.bootstrap import build
    from gateway.config import Settings

    env = prepare(folder, start_afresh=start_afresh)
    os.environ.update(env)
    print(_banner(folder, f"http://{host}:{port}", env["GATEWAY_TRUST_STORE"]), flush=True)
    uvicorn.run(
        create_app(build(Settings())),
        host=host,
        port=port,
        http=GuardedH11Protocol,  # as gateway serve: the same limits on connections
        proxy_headers=False,
        log_config=None,
    )
