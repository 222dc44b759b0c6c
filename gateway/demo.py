"""``gateway demo``: development PKI, demo partners, signed sample batches, then serve."""

from __future__ import annotations

import os
import random
import secrets
from datetime import date
from pathlib import Path

from adapters.hospital.synth import make_batch
from gateway.partners import token_hash
from gateway.trust.anchors import fingerprint
from gateway.trust.devpki import write_dev_pki
from gateway.trust.sign import SigningIdentity

# Demo hospitals: (partner id, facility code, display name).
HOSPITALS = (
    ("hospital-01929", "01929", "Demo General Hospital (Hà Nội)"),
    ("hospital-79001", "79001", "Demo Provincial Hospital (TP. Hồ Chí Minh)"),
)


def _partner_entry(partner_id: str, code: str, name: str, cert_fp: str, token: str) -> str:
    return (
        "[[partners]]\n"
        f'id = "{partner_id}"\n'
        'kind = "hospital"\n'
        f'name = "{name}"\n'
        'services = ["claims.submit", "claims.read", "signals.read"]\n'
        f'facility_codes = ["{code}"]\n'
        f'certificates = ["{cert_fp}"]\n'
        f'tokens = ["{token_hash(token)}"]\n'
    )


def prepare(folder: Path) -> dict[str, str]:
    """Write everything the demo needs into ``folder``; return the GATEWAY_* settings."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = write_dev_pki(folder / "pki", [h[0] for h in HOSPITALS])
    entries = []
    rng = random.Random(130)  # noqa: S311 - synthetic data, not security
    for partner_id, code, name in HOSPITALS:
        key, cert = pki.identities[partner_id]
        identity = SigningIdentity.from_files(key, cert)
        token = secrets.token_urlsafe(24)
        (folder / f"{partner_id}.token").write_text(token + "\n")
        (folder / f"{partner_id}.token").chmod(0o600)
        entries.append(
            _partner_entry(partner_id, code, name, fingerprint(identity.certificate), token)
        )
        batch, _ = make_batch(rng, identity, code, 3, created=date.today())
        (folder / f"batch-{code}.xml").write_bytes(batch)
    (folder / "partners.toml").write_text("\n".join(entries), encoding="utf-8")
    gateway_key, gateway_cert = pki.identities["gateway"]
    return {
        "GATEWAY_ENVIRONMENT": "development",
        "GATEWAY_STORE_URL": f"sqlite:///{folder / 'gateway.sqlite3'}",
        "GATEWAY_PARTNERS": str(folder / "partners.toml"),
        "GATEWAY_TRUST_STORE": str(pki.trust_store),
        "GATEWAY_SIGNING_KEY": str(gateway_key),
        "GATEWAY_SIGNING_CERT": str(gateway_cert),
    }


def run_demo(folder: Path, *, host: str, port: int) -> None:
    """Prepare the demo and serve it until interrupted."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.bootstrap import build
    from gateway.config import Settings

    env = prepare(folder)
    os.environ.update(env)
    base = f"http://{host}:{port}"
    print(
        f"""
VSS gateway demo — files in {folder}/
  API docs:      {base}/docs        WSDL: {base}/soap/claims?wsdl
  send a batch:  curl -s -H "Authorization: Bearer $(cat {folder}/hospital-01929.token)" \\
                   -H "Content-Type: application/xml" --data-binary @{folder}/batch-01929.xml \\
                   {base}/api/v1/claims
  or:            gateway submit {folder}/batch-01929.xml --url {base} \\
                   --token "$(cat {folder}/hospital-01929.token)"
  verify receipt offline: gateway verify receipt.xml --trust {env["GATEWAY_TRUST_STORE"]}
"""
    )
    uvicorn.run(
        create_app(build(Settings())), host=host, port=port, proxy_headers=False, log_config=None
    )
