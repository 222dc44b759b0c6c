"""``gateway demo``: a development PKI, demo partners with their credentials, signed sample
documents and a database, kept in one folder and reused by the next run; then serve, with the
portal's side of dossiers running beside the gateway: a DVCQG simulator on a loopback port and a
delivery worker that pushes every status change to it.

A second run is the same demo: it reuses what the first one created and creates only what is
missing, so that batches and dossiers made, receipts given and tokens printed by the first run
still hold. Without its PKI a demo folder starts afresh (everything else it holds was made for
that PKI); ``--reset`` starts afresh on purpose. Only the files the demo makes are ever deleted.
The simulator keeps what it received in memory: each run's starts empty.
"""

from __future__ import annotations

import json
import random
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.hospital import synth
from adapters.hospital.synth.sirecords import si_card, si_person
from adapters.population.citizens import Citizen
from adapters.portal import synth as portal_synth
from adapters.portal.simulator import from_settings as simulated_portal
from gateway import demo_identity
from gateway.bootstrap import Gateway
from gateway.config import Settings
from gateway.dossiers import routing
from gateway.identity.citizen_key import write_key
from gateway.legacy import legacy_password_hash, md5_upper
from gateway.partners import token_hash
from gateway.server import ServerThread
from gateway.sirecords.model import ContributionPeriod, HiCard, Person, Scheme
from gateway.sirecords.ports import SiRecordStore
from gateway.sirecords.synth import SeedRecord, synthetic_records
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
# The portal that submits dossiers and reads their status: DVCQG, whose sync services the demo
# simulates. The gateway's account there: PORTAL_ACCOUNT, its password kept in the demo folder.
PORTAL = "dvcqg"
PORTAL_ACCOUNT = "vss-gateway"
DEPARTMENT_SERVICES = ("dossiers.read", "dossiers.transition", "queues.read", "queues.claim")


@dataclass(frozen=True)
class DemoApplicant:
    """A citizen or a unit that signs its own dossiers: its certificate (``pki/keys/<key>``)
    names it by ``uid`` (``CCCD:`` or ``MST:``), as Vietnamese CAs do."""

    key: str
    name: str
    uid: str


DEMO_CITIZEN = "001190012345"
DEMO_CITIZEN_BORN = date(1990, 5, 17)  # in her SI record, her dossiers' forms and at C06
DEMO_CARD = "DN4010190012345"  # her HI card
APPLICANTS = (
    DemoApplicant("citizen", "Nguyễn Thị Lan", f"CCCD:{DEMO_CITIZEN}"),
    DemoApplicant("employer", "Công ty TNHH Minh Phát", "MST:0101234567"),
)


@dataclass(frozen=True)
class DemoDossier:
    """A sample dossier: the portal's number of it (the last part of its MaHoSo), its procedure,
    the applicant that signs it."""

    number: int
    procedure: str
    applicant: str

    @property
    def file(self) -> str:
        return f"dossier-{self.procedure.lower().replace('_', '-')}.xml"


DOSSIERS = (
    DemoDossier(1, "BENEFIT_MATERNITY", "citizen"),
    DemoDossier(2, "REISSUE_HI_CARD", "citizen"),
    DemoDossier(3, "BENEFIT_SICKNESS", "employer"),
    DemoDossier(4, "UNPAID_CONTRIBUTION_REPORT", "employer"),
)
DOSSIER_INDEX = "dossiers.json"  # file -> MaHoSo, MaTTHC, procedure, department
SYNTHETIC_CITIZENS = 50  # SI records of synthetic citizens besides the demo's own
# What the demo writes besides pki/, by pattern: what --reset deletes, and nothing else.
_MADE = (
    "partners.toml",
    "*.token",
    "*.password",
    "batch-*.xml",
    "checkin-*.xml",
    "claim-*.xml",
    "dossier-*.xml",
    "si-records-*.json",
    "*.secret",
    DOSSIER_INDEX,
    "gateway.sqlite3*",
    "pseudonym.key",
)


def _partner_entry(hospital: DemoHospital, certificate: str, token: str, password: str) -> str:
    return (
        "[[partners]]\n"
        f'id = "{hospital.partner_id}"\n'
        'kind = "hospital"\n'
        f'name = "{hospital.name}"\n'
        'services = ["claims.submit", "claims.read", "signals.read", "cards.check"]\n'
        f'facility_codes = ["{hospital.facility}"]\n'
        f'certificates = ["{certificate}"]\n'
        f'tokens = ["{token_hash(token)}"]\n'
        f'legacy_username = "{hospital.username}"\n'
        f'legacy_password_hash = "{legacy_password_hash(md5_upper(password))}"\n'
    )


def _portal_entry(token: str) -> str:
    return (
        "[[partners]]\n"
        f'id = "{PORTAL}"\n'
        'kind = "portal"\n'
        'name = "National Public Service Portal (DVCQG, simulated)"\n'
        'services = ["dossiers.submit", "dossiers.read", "dossiers.transition"]\n'
        f'tokens = ["{token_hash(token)}"]\n'
    )


def _department_entry(department: str, token: str) -> str:
    return (
        "[[partners]]\n"
        f'id = "{department}"\n'
        'kind = "department"\n'
        f'name = "VSS {department} department (demo)"\n'
        f"services = {json.dumps(list(DEPARTMENT_SERVICES))}\n"
        f'departments = ["{department}"]\n'
        f'tokens = ["{token_hash(token)}"]\n'
    )


def _secret(path: Path) -> tuple[str, bool]:
    """The secret kept in ``path`` (mode 0600), made if missing; and whether it was made."""
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    value = secrets.token_urlsafe(18)
    path.touch(mode=0o600)
    path.write_text(value + "\n", encoding="utf-8")
    return value, True


def _pseudonym_key(path: Path) -> Path:
    """The citizen key (docs/pseudonyms.md), made once: the citizens' access histories are
    kept under it."""
    return path if path.is_file() else write_key(path)


def _sample(path: Path, make: Callable[[], bytes]) -> None:
    if not path.is_file():
        path.write_bytes(make())


def _samples(folder: Path, hospital: DemoHospital, identity: SigningIdentity) -> None:
    """Signed sample documents: a 3-visit batch for the REST and SOAP APIs; a check-in and the
    later claim of one more visit, for the VSS-portal API (the claim links to its check-in).
    Their patients' SI records go to ``si-records-<facility>.json``, made with them: without
    it the samples are made again, so that the demo's card check knows every card."""
    code, today = hospital.facility, date.today()
    patients = folder / f"si-records-{code}.json"
    known: dict[str, Any] = (
        json.loads(patients.read_text(encoding="utf-8")) if patients.is_file() else {}
    )
    for name in (f"batch-{code}.xml", f"claim-{code}.xml"):
        if name not in known:  # made before its patients were kept: made again with them
            (folder / name).unlink(missing_ok=True)
    made: dict[str, list[synth.Visit]] = {}
    batch_rng = random.Random(code)  # noqa: S311 - synthetic data, not security

    def batch() -> bytes:
        body, made[f"batch-{code}.xml"] = synth.make_batch(
            batch_rng, identity, code, 3, created=today
        )
        return body

    _sample(folder / f"batch-{code}.xml", batch)
    # Visit 101, numbered apart from the batch's 1–3 so that its MA_LK is its own; drawn from
    # its own seed, so that a check-in and a claim made in different runs are of one visit.
    # It arrived 30 days ago, as make_batch's visits do, so that it ended before the claim.
    visit_rng = random.Random(f"{code}-101")  # noqa: S311 - synthetic data, not security
    visit = synth.make_visit(visit_rng, facility_code=code, index=101, day=today - timedelta(30))
    _sample(folder / f"checkin-{code}.xml", lambda: synth.signed_checkin(identity, visit))

    def claim() -> bytes:
        made[f"claim-{code}.xml"] = [visit]
        return synth.signed_batch(identity, code, [visit], created=today)

    _sample(folder / f"claim-{code}.xml", claim)
    if made:
        for name, visits in made.items():
            known[name] = [
                {
                    "person": si_person(v).model_dump(mode="json"),
                    "card": si_card(v).model_dump(mode="json"),
                }
                for v in visits
            ]
        patients.write_text(json.dumps(known, ensure_ascii=False, indent=2) + "\n", "utf-8")


def _demo_citizen(today: date) -> SeedRecord:
    """The citizen who signs the demo's dossiers, insured through the demo employer."""
    return SeedRecord(
        Person(
            citizen_id=DEMO_CITIZEN,
            si_number="0190012345",
            full_name="NGUYỄN THỊ LAN",
            date_of_birth=DEMO_CITIZEN_BORN.isoformat(),
            gender="female",
        ),
        (
            ContributionPeriod(
                scheme=Scheme.COMPULSORY,
                employer_name="Công ty TNHH Minh Phát",
                employer_tax_code="0101234567",
                unit_code="TA0001A",
                from_month="2015-01",
                salary_basis=Decimal("8500000"),
            ),
        ),
        (
            HiCard(
                number=DEMO_CARD,
                registered_facility=HOSPITALS[0].facility,
                valid_from=date(today.year, 1, 1),
                valid_to=date(today.year, 12, 31),
                benefit_level=4,
                five_year_date=date(2020, 1, 1),
            ),
        ),
    )


def _seeds(today: date) -> list[SeedRecord]:
    """The dossiers' citizen and SYNTHETIC_CITIZENS more (``gateway seed si-records``)."""
    return [_demo_citizen(today), *synthetic_records(SYNTHETIC_CITIZENS, today=today)]


def _patients(folder: Path) -> Iterator[tuple[Person, HiCard]]:
    """Every sample claim's patient and card (``si-records-<facility>.json``)."""
    for hospital in HOSPITALS:
        path = folder / f"si-records-{hospital.facility}.json"
        for patients in json.loads(path.read_text(encoding="utf-8")).values():
            for patient in patients:
                card = HiCard.model_validate(patient["card"])
                yield Person.model_validate(patient["person"]), card


def seed_si_records(folder: Path, store: SiRecordStore) -> None:
    """The SI records the demo needs: the dossiers' citizen, every sample claim's patient and
    SYNTHETIC_CITIZENS more; what is there already is left as it is."""
    for seed in _seeds(date.today()):
        store.upsert(seed.person, contributions=seed.contributions, cards=seed.cards)
    for person, card in _patients(folder):
        store.upsert(person, cards=[card])


def dossier_index(folder: Path) -> dict[str, dict[str, str]]:
    """The sample dossiers made so far: file name → MaHoSo, MaTTHC, procedure, department, and
    the person its forms are about (subject_id, subject_name, subject_born: yyyy-MM-dd)."""
    path = folder / DOSSIER_INDEX
    if not path.is_file():
        return {}
    index: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return index


def _dossiers(folder: Path, pki: DevPki) -> None:
    """Signed sample dossiers of a few procedures, by the demo citizen and employer, each with
    the MaHoSo and MaTTHC that the portal sends along and the person it is about (in
    ``dossiers.json``; a dossier listed without its person is made again, with it)."""
    index, table = dossier_index(folder), routing.load(None)
    made = {}
    for sample in DOSSIERS:
        kept = index.get(sample.file, {})
        if "subject_id" in kept and (folder / sample.file).is_file():
            made[sample.file] = kept
            continue
        citizen = sample.applicant == "citizen"
        dossier = portal_synth.make_dossier(
            random.Random(f"dossier-{sample.number}"),  # noqa: S311 - synthetic data
            sample.procedure,
            SigningIdentity.from_files(*pki.identities[sample.applicant]),
            signer=portal_synth.sign_with_gateway,
            number=sample.number,
            today=date.today(),
            born=DEMO_CITIZEN_BORN if citizen else None,
        )
        subject = dossier.subject
        assert subject is not None  # make_dossier names the person its forms are about
        (folder / sample.file).write_bytes(dossier.body)
        made[sample.file] = {
            "MaHoSo": dossier.ma_ho_so,
            "MaTTHC": dossier.ma_tthc,
            "procedure": dossier.procedure,
            "department": table.route(dossier.procedure).department,
            "subject_id": subject.citizen_id,
            "subject_name": subject.full_name,
            "subject_born": subject.born.isoformat(),
        }
    if made != index:
        text = json.dumps(made, ensure_ascii=False, indent=2) + "\n"
        (folder / DOSSIER_INDEX).write_text(text, encoding="utf-8")


def reset(folder: Path) -> None:
    """Delete what an earlier demo made in ``folder``; anything else stays."""
    shutil.rmtree(folder / "pki", ignore_errors=True)
    for pattern in _MADE:
        for path in folder.glob(pattern):
            path.unlink()


def prepare(folder: Path, *, start_afresh: bool = False) -> dict[str, str]:
    """Make in ``folder`` what the demo needs and is not there yet; return the GATEWAY_*
    settings of the demo gateway (all but its simulators' URLs, known once they run)."""
    holders = {a.key: (a.name, a.uid) for a in APPLICANTS}
    pki = DevPki(folder / "pki", ("gateway", *(h.partner_id for h in HOSPITALS), *holders))
    if start_afresh or not pki.complete():
        reset(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if pki.complete():
        pki.renew_crls()
    else:
        pki = write_dev_pki(pki.folder, [h.partner_id for h in HOSPITALS], holders=holders)
    entries, made = [], False
    for hospital in HOSPITALS:
        identity = SigningIdentity.from_files(*pki.identities[hospital.partner_id])
        token, new_token = _secret(folder / f"{hospital.partner_id}.token")
        password, new_password = _secret(folder / f"{hospital.partner_id}.password")
        made = made or new_token or new_password
        entries.append(_partner_entry(hospital, fingerprint(identity.certificate), token, password))
        _samples(folder, hospital, identity)
    token, new_token = _secret(folder / f"{PORTAL}.token")
    made = made or new_token
    entries.append(_portal_entry(token))
    token, new_token = _secret(folder / f"{demo_identity.VNEID}.token")
    made = made or new_token
    entries.append(demo_identity.vneid_entry(token))
    for department in routing.load(None).departments:
        token, new_token = _secret(folder / f"{department}.token")
        made = made or new_token
        entries.append(_department_entry(department, token))
    _dossiers(folder, pki)
    partners = folder / "partners.toml"
    if made or not partners.is_file():
        partners.write_text("\n".join(entries), encoding="utf-8")
    sync_password, _ = _secret(folder / f"{PORTAL}-sync.password")
    population_secret, _ = _secret(folder / "population.secret")
    population_api_key, _ = _secret(folder / "population-api-key.secret")
    gateway_key, gateway_cert = pki.identities["gateway"]
    return {
        "GATEWAY_ENVIRONMENT": "development",
        "GATEWAY_STORE_URL": f"sqlite:///{folder / 'gateway.sqlite3'}",
        "GATEWAY_PARTNERS": str(partners),
        "GATEWAY_TRUST_STORE": str(pki.trust_store),
        "GATEWAY_SIGNING_KEY": str(gateway_key),
        "GATEWAY_SIGNING_CERT": str(gateway_cert),
        "GATEWAY_PSEUDONYM_KEY": str(_pseudonym_key(folder / "pseudonym.key")),
        "GATEWAY_PORTAL_USERNAME": PORTAL_ACCOUNT,
        "GATEWAY_PORTAL_PASSWORD": sync_password,
        "GATEWAY_PORTAL_AGENCY": portal_synth.AGENCY,
        # A status reaches the simulator within a second of the move that made it.
        "GATEWAY_WORKER_POLL_INTERVAL": "1",
        **demo_identity.population_settings(population_secret, population_api_key),
    }


def settings(env: dict[str, str]) -> Settings:
    """The demo gateway's settings: ``env`` (as ``prepare`` returns it) over the process's own
    GATEWAY_* variables."""
    chosen: dict[str, Any] = {k.removeprefix("GATEWAY_").lower(): v for k, v in env.items()}
    return Settings(**chosen)


@dataclass(frozen=True)
class DemoRun:
    """A demo while it runs: its gateway, to be served, and its simulators' addresses (DVCQG,
    VNeID, the population database)."""

    folder: Path
    gateway: Gateway
    portal_url: str
    vneid_url: str
    population_url: str


def _population(folder: Path) -> list[Citizen]:
    """Whom the population simulator holds: everyone with an SI record in the demo, and the
    people the sample dossiers name."""
    records = [seed.person for seed in _seeds(date.today())]
    records += [person for person, _ in _patients(folder)]
    people = {p.citizen_id: (p.full_name, p.date_of_birth) for p in records}
    for entry in dossier_index(folder).values():
        people[entry["subject_id"]] = (entry["subject_name"], entry["subject_born"])
    return [demo_identity.person(number, name, born) for number, (name, born) in people.items()]


@contextmanager
def running(
    folder: Path,
    *,
    portal_port: int = 0,
    vneid_port: int = 0,
    population_port: int = 0,
    start_afresh: bool = False,
) -> Iterator[DemoRun]:
    """Prepare the demo; start the DVCQG simulator on ``portal_port`` (0: a free one) and a
    delivery worker pointed at it, the VNeID and population simulators on theirs, and build
    the gateway; stop them all when done."""
    from gateway.bootstrap import build, status_worker
    from gateway.clock import SystemClock
    from gateway.dossiers import worker

    env = prepare(folder, start_afresh=start_afresh)
    _, portal_app = simulated_portal(settings(env))
    with ExitStack() as running_parts:
        simulator = running_parts.enter_context(
            ServerThread(portal_app, name="DVCQG simulator", port=portal_port)
        )
        identities = running_parts.enter_context(
            demo_identity.simulators(
                env, _population(folder), vneid_port=vneid_port, population_port=population_port
            )
        )
        configured = settings(
            {**env, "GATEWAY_PORTAL_SYNC_URL": simulator.url, **identities.settings}
        )
        gateway = build(configured)
        running_parts.callback(gateway.close)
        seed_si_records(folder, gateway.si_records)
        work = status_worker(configured)
        running_parts.callback(work.close)
        stop = threading.Event()
        delivery = threading.Thread(
            target=worker.run,
            args=(work.store, work.sink),
            kwargs={"clock": SystemClock(), "policy": work.policy, "stop": stop},
            name="demo-delivery",
            daemon=True,
        )
        delivery.start()
        running_parts.callback(delivery.join, timeout=30)
        running_parts.callback(stop.set)
        yield DemoRun(
            folder, gateway, simulator.url, identities.vneid_url, identities.population_url
        )


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
  API docs:      {base}/docs        WSDLs: {base}/soap/claims?wsdl, {base}/soap/dossiers?wsdl
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


# The dossier id in a receipt's JSON (orjson writes it without spaces).
_DOSSIER_ID = r"""sed -n 's/.*"dossier_id":"\([^"]*\)".*/\1/p'"""


def _dossier_banner(folder: Path, base: str, portal: str) -> str:
    index = dossier_index(folder)
    sample = DOSSIERS[0].file
    entry = index[sample]
    department = entry["department"]
    others = ", ".join(f"{name} ({e['department']})" for name, e in index.items() if name != sample)
    return f"""
Dossiers: the portal ({PORTAL}) submits, the department moves, the worker pushes each status to
the DVCQG simulator at {portal}. A token per department: {folder}/<department>.token
  tokens:        PORTAL=$(cat {folder}/{PORTAL}.token); DEPT=$(cat {folder}/{department}.token)
  submit:        ID=$(curl -s -H "Authorization: Bearer $PORTAL" \\
                   -H "Content-Type: application/xml" --data-binary @{folder}/{sample} \\
                   "{base}/api/v1/dossiers?MaHoSo={entry["MaHoSo"]}&MaTTHC={entry["MaTTHC"]}" \\
                   | {_DOSSIER_ID}); echo "$ID"
  its queue:     curl -s -H "Authorization: Bearer $DEPT" {base}/api/v1/queues/{department}; echo
  move it:       for to in accepted processing finished; do \\
                   curl -s -H "Authorization: Bearer $DEPT" -H "Content-Type: application/json" \\
                   -d "{{\\"to\\": \\"$to\\"}}" \\
                   {base}/api/v1/dossiers/$ID/transitions; echo; done
  read it:       curl -s -H "Authorization: Bearer $PORTAL" {base}/api/v1/dossiers/$ID; echo
  what DVCQG got (a second after each move): curl -s {portal}/_simulator/received
  other samples: {others}; their MaHoSo and MaTTHC in {folder}/{DOSSIER_INDEX}
"""


def _identity_banner(folder: Path, base: str, vneid_url: str) -> str:
    first = HOSPITALS[0]
    holder = demo_identity.Holder(
        DEMO_CITIZEN, DEMO_CARD, "NGUYỄN THỊ LAN", f"{DEMO_CITIZEN_BORN:%d/%m/%Y}"
    )
    other = next(synthetic_records(1, today=date.today())).person.citizen_id
    login = demo_identity.Login(first.username, folder / f"{first.partner_id}.password")
    return demo_identity.banner(
        base, vneid_url, folder=folder, holder=holder, other=other, login=login
    )


def run_demo(
    folder: Path,
    *,
    host: str,
    port: int,
    portal_port: int = 0,
    vneid_port: int = 0,
    population_port: int = 0,
    start_afresh: bool = False,
) -> None:
    """Prepare the demo and serve it, with its simulated partners, until interrupted."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.api.connections import GuardedH11Protocol

    with running(
        folder,
        portal_port=portal_port,
        vneid_port=vneid_port,
        population_port=population_port,
        start_afresh=start_afresh,
    ) as demo:
        base, trust = f"http://{host}:{port}", str(demo.gateway.settings.trust_store)
        print(
            _banner(folder, base, trust)
            + _dossier_banner(folder, base, demo.portal_url)
            + _identity_banner(folder, base, demo.vneid_url)
        )
        uvicorn.run(
            create_app(demo.gateway),
            host=host,
            port=port,
            http=GuardedH11Protocol,  # as gateway serve: the same limits on connections
            proxy_headers=False,
            log_config=None,
        )
