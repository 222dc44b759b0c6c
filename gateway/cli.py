"""The ``gateway`` command: serve, demo, dev-pki, sign, verify, submit, ingest, generate, audit, db,
retention, worker and outbox."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from fastapi import FastAPI
from lxml import etree

from gateway import db, logs
from gateway.config import Settings
from gateway.errors import ConfigError, GatewayError
from gateway.trust.anchors import TrustAnchors
from gateway.trust.policy import SignaturePolicy
from gateway.trust.sign import SigningIdentity, sign_enveloped
from gateway.trust.verify import verify_enveloped
from gateway.xml.ns import DS, RECEIPT, q
from gateway.xml.parser import XmlLimits, parse

if TYPE_CHECKING:
    from gateway.audit import AuditHead, AuditLog


def _signature_locations() -> dict[str, tuple[str, ...]]:
    """Where each signed document type carries its signature, as its format declares it."""
    from adapters.hospital.assessment import AssessmentFormat
    from adapters.hospital.checkin import CheckinFormat
    from adapters.hospital.qd130 import Qd130Format

    locations: dict[str, tuple[str, ...]] = {q(RECEIPT, "Receipt"): (q(RECEIPT, "Receipt"),)}
    for fmt in (Qd130Format(), CheckinFormat(), AssessmentFormat()):
        locations[fmt.signature_location[0]] = fmt.signature_location
    return locations


def app_from_env() -> FastAPI:
    """uvicorn factory: a gateway configured from the environment (used with --workers)."""
    from gateway.api.app import create_app
    from gateway.bootstrap import build

    return create_app(build(Settings()))


def serve(args: argparse.Namespace) -> None:
    import ssl

    from gateway import server
    from gateway.api.app import create_app
    from gateway.api.connections import GuardedH11Protocol
    from gateway.bootstrap import build
    from gateway.trust.sign import check_private_key_file

    # Built here first, so that a configuration mistake (a contract missing from the package, a
    # private key open to others) stops the command with its one-line message, not a traceback
    # in every worker. One worker serves this very gateway; several build their own.
    gateway = build(Settings())
    target: FastAPI | str = create_app(gateway)
    if args.workers > 1:
        gateway.close()
        target = "gateway.cli:app_from_env"
    tls: dict[str, object] = {}
    if args.tls_cert:
        if args.tls_key:
            check_private_key_file(Path(args.tls_key))
        tls = {
            "ssl_certfile": args.tls_cert,
            "ssl_keyfile": args.tls_key,
            "ssl_ca_certs": args.tls_client_ca,
            "ssl_cert_reqs": ssl.CERT_OPTIONAL if args.tls_client_ca else ssl.CERT_NONE,
        }
    server.run(
        target,
        factory=isinstance(target, str),
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Client certificates, a deadline for each request's head and a cap per source address;
        # no limit_concurrency (gateway.api.connections says why).
        http=GuardedH11Protocol,
        # Forwarded headers are honoured only from GATEWAY_TRUSTED_PROXIES (gateway.api.auth),
        # never by uvicorn's own default trust of 127.0.0.1.
        proxy_headers=False,
        log_config=None,
        **tls,
    )


def dev_pki(args: argparse.Namespace) -> None:
    from gateway.trust.devpki import write_dev_pki

    pki = write_dev_pki(Path(args.out), args.partner)
    print(f"trust store: {pki.trust_store}")
    for name, (key, cert) in pki.identities.items():
        print(f"{name}: key {key}, certificate {cert}")


def sign(args: argparse.Namespace) -> int:
    identity = SigningIdentity.from_files(Path(args.key), Path(args.cert))
    root = parse(Path(args.input).read_bytes(), XmlLimits())
    location = _signature_locations().get(root.tag)
    if location is None:
        known = ", ".join(sorted(_signature_locations()))
        print(f"unknown document type {root.tag}; gateway sign signs {known}", file=sys.stderr)
        return 2
    if root.find(f".//{{{DS}}}Signature") is not None:
        print(f"{args.input} is already signed", file=sys.stderr)
        return 2
    # Where the gateway will look for the signature: the format's container (CHUKYDONVI, made
    # as the last child if the document has none yet).
    container = root
    for tag in location[1:]:
        child = container.find(tag)
        container = etree.SubElement(container, tag) if child is None else child
    sign_enveloped(root, identity, container=container)
    Path(args.output).write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
    print(f"signed {args.input} -> {args.output}")
    return 0


def verify(args: argparse.Namespace) -> int:
    root = parse(Path(args.input).read_bytes(), XmlLimits())
    location = _signature_locations().get(root.tag)
    if location is None:
        print(f"unknown document type {root.tag}", file=sys.stderr)
        return 2
    anchors = TrustAnchors.from_directory(Path(args.trust))
    policy = SignaturePolicy(require_crl=not args.no_crl)
    at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    try:
        verified = verify_enveloped(root, location=location, anchors=anchors, policy=policy, at=at)
    except GatewayError as exc:
        print(f"INVALID {exc.code}: {exc.detail}")
        return 1
    print(f"VALID signed by {verified.signer.subject} (issuer {verified.signer.issuer})")
    print(f"certificate sha256 {verified.signer.fingerprint}")
    return 0


def legacy_password(args: argparse.Namespace) -> int:
    """Print the partner-file lines of a legacy login (VSS-portal compatible token endpoint)."""
    import getpass

    from gateway.legacy import legacy_password_hash, md5_upper

    if args.md5:
        md5 = args.md5
    else:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != password:
                print("the two passwords differ", file=sys.stderr)
                return 2
        md5 = md5_upper(password)
    try:
        stored = legacy_password_hash(md5)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f'legacy_username = "{args.username}"')
    print(f'legacy_password_hash = "{stored}"')
    return 0


def submit(args: argparse.Namespace) -> int:
    import httpx

    body = Path(args.input).read_bytes()
    response = httpx.post(
        f"{args.url.rstrip('/')}/api/v1/claims",
        content=body,
        headers={"Content-Type": "application/xml", "Authorization": f"Bearer {args.token}"},
        timeout=60,
    )
    print(response.text)
    return 0 if response.is_success else 1


def ingest(args: argparse.Namespace) -> int:
    import logging

    from gateway.ingest import ingest as upload

    # httpx logs every request at INFO: the progress line and the summary say it better.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        summary = upload(
            args.paths,
            url=args.url,
            token=args.token,
            journal=Path(args.journal),
            concurrency=args.concurrency,
            timeout=args.timeout,
            progress=not args.no_progress,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; answers so far are in {args.journal}: run again to resume",
            file=sys.stderr,
        )
        return 130
    print(summary.table())
    return summary.exit_code


def generate(args: argparse.Namespace) -> int:
    import random

    from adapters.hospital import synth

    identity = SigningIdentity.from_files(Path(args.key), Path(args.cert))
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible from the seed
    for n in range(1, args.batches + 1):
        try:
            body, _ = synth.make_batch(
                rng,
                identity,
                args.facility,
                args.hoso_per_batch,
                created=datetime.now(UTC).date(),
                faults=args.fault,
                fault_rate=args.fault_rate,
                wrapper=not args.no_wrapper,
                # Distinct MA_LKs across the run and, by the seed, across runs: a repeated one
                # would read as a resent, changed visit.
                first_index=(seed % 10_000) * 100_000 + (n - 1) * args.hoso_per_batch + 1,
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        (out / f"batch-{args.facility}-{seed}-{n:05d}.xml").write_bytes(body)
    print(f"wrote {args.batches} batches of {args.hoso_per_batch} HOSO to {out} (seed {seed})")
    return 0


def generate_dossiers(args: argparse.Namespace) -> int:
    import json
    import random

    from adapters.portal import synth
    from adapters.portal.binding import applicant_of
    from adapters.portal.procedures import CATALOGUE

    identity = SigningIdentity.from_files(Path(args.key), Path(args.cert))
    other = (
        SigningIdentity.from_files(Path(args.other_key), Path(args.other_cert))
        if args.other_key and args.other_cert
        else None
    )
    kind = applicant_of(identity.certificate).kind
    procedures = args.procedure or [c for c, p in CATALOGUE.items() if kind in p.applicants]
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible from the seed
    today = datetime.now(UTC).date()
    index = []
    for n, code in enumerate(
        (c for c in procedures for _ in range(args.count)), start=args.first_number
    ):
        try:
            made = synth.make_dossier(
                rng,
                code,
                identity,
                signer=synth.sign_with_gateway,
                number=n,
                today=today,
                faults=args.fault,
                other=other,
                agency=args.agency,
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        name = f"{made.ma_ho_so}.xml"
        (out / name).write_bytes(made.body)
        index.append(
            {
                "file": name,
                "MaHoSo": made.ma_ho_so,
                "MaTTHC": made.ma_tthc,
                "procedure": made.procedure,
                "faults": list(made.faults),
            }
        )
    (out / "dossiers.json").write_text(json.dumps(index, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {len(index)} {kind} dossiers and dossiers.json to {out} (seed {seed})")
    return 0


def _audit_log() -> AuditLog:
    from gateway.bootstrap import open_storage

    store, log = open_storage(Settings(), create=False)
    store.close()
    return log


def _checkpoint_certificate(path: Path | None) -> x509.Certificate | None:
    """The certificate checkpoints are checked with: ``path``, else GATEWAY_SIGNING_CERT's."""
    path = path or Settings().signing_cert
    if path is None:
        return None
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0]
    except ValueError as exc:
        raise ConfigError(f"cannot read the certificate {path}: {exc}") from exc


def audit_verify(args: argparse.Namespace) -> int:
    from gateway.audit.chain import check_anchor
    from gateway.audit.checkpoint import start_of, verify_log

    log = _audit_log()
    try:
        checkpoint = log.checkpoint()
        certificate = _checkpoint_certificate(args.checkpoint_cert)
        if checkpoint is not None and certificate is None:
            raise ConfigError(
                "the audit log starts at a checkpoint: give GATEWAY_SIGNING_CERT or "
                "--checkpoint-cert (the certificate of the key that signed it) to check it"
            )
        report = log.verify() if certificate is None else verify_log(log, certificate)
        start = start_of(checkpoint)
        if report.ok and args.anchor is not None and args.anchor.seq > start.seq:
            report = check_anchor(report, args.anchor, log.entries)
    finally:
        log.close()
    if report.ok:
        head = report.head
        since = f" (1 to {start.seq} proven by a signed checkpoint)" if start.seq else ""
        print(f"OK: {report.count} entries{since}, the chain holds; head {head.seq}:{head.hash}")
        return 0
    where = f"entry {report.first_broken_seq}" if report.first_broken_seq else "the head"
    if report.reason is not None and "checkpoint" in report.reason:
        where = "the checkpoint"
    print(f"BROKEN at {where}: {report.reason}")
    return 1


def anchor(text: str) -> AuditHead:
    """``SEQ:HASH``, as ``audit verify`` prints the head."""
    from gateway.audit.chain import head_of

    seq, _, hash_hex = text.partition(":")
    head = head_of(seq, hash_hex)
    if head.seq < 1:
        raise ValueError(text)
    return head


def audit_tail(args: argparse.Namespace) -> int:
    import orjson

    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    log = _audit_log()
    try:
        last = log.head().seq
        entries = log.entries(after_seq=max(last - args.limit, 0), limit=args.limit)
    except ValueError as exc:
        print(f"error: {exc}; run gateway audit verify", file=sys.stderr)
        return 1
    finally:
        log.close()
    for entry in entries:
        try:
            event = orjson.loads(entry.body)
        except orjson.JSONDecodeError:
            event = None
        if not isinstance(event, dict):
            event = {"seq": entry.seq, "unreadable": entry.body.decode(errors="replace")}
        print(orjson.dumps({**event, "hash": entry.hash}, option=orjson.OPT_SORT_KEYS).decode())
    return 0


def retention(args: argparse.Namespace) -> int:
    """Print what is past its period (``--apply``: drop it)."""
    from gateway import retention as policy
    from gateway.bootstrap import open_storage, signing_identity
    from gateway.store.pg_retention import PostgresPruner
    from gateway.store.sqlite_retention import SqlitePruner

    settings = Settings()
    url = settings.store_url
    pruner: policy.Pruner
    if url.startswith("sqlite:///"):
        pruner = SqlitePruner(Path(url.removeprefix("sqlite:///")))
    elif url.startswith(("postgresql://", "postgres://")):
        pruner = PostgresPruner(url)
    else:
        raise ConfigError(f"GATEWAY_STORE_URL {url!r}: retention runs on SQLite and PostgreSQL")
    store, log = open_storage(settings, create=False)
    store.close()
    periods, now = policy.Periods.of_settings(settings), datetime.now(UTC)
    try:
        if args.apply:
            identity = signing_identity(settings) if periods.audit is not None else None
            found = policy.apply(periods, now, pruner, log, identity=identity)
        else:
            found = policy.plan(periods, now, pruner, log)
    finally:
        pruner.close()
        log.close()
    verb = "dropped" if args.apply else "would drop"
    for expired in found:
        print(f"{verb} {expired.kind}: {expired.what} ({expired.rows} rows)")
    if not found:
        print("nothing is past its period")
    elif not args.apply:
        print("dry run: nothing changed; run gateway retention --apply to drop it")
    return 0


def demo(args: argparse.Namespace) -> None:
    from gateway.demo import run_demo

    run_demo(
        Path(args.dir),
        host=args.host,
        port=args.port,
        portal_port=args.portal_port,
        vneid_port=args.vneid_port,
        population_port=args.population_port,
        start_afresh=args.reset,
    )


def seed_si_records(args: argparse.Namespace) -> int:
    """Upsert ``--count`` synthetic citizens' SI records into the dossiers' database."""
    from datetime import date

    from gateway.bootstrap import open_si_record_store
    from gateway.sirecords.synth import MAX_COUNT, synthetic_records

    if not 0 <= args.count <= MAX_COUNT:
        print(f"error: --count must be between 0 and {MAX_COUNT}", file=sys.stderr)
        return 2
    store = open_si_record_store(Settings())
    changed = 0
    try:
        for seed in synthetic_records(args.count, seed=args.seed, today=date.today()):
            before = store.version(seed.person.citizen_id)
            after = store.upsert(seed.person, contributions=seed.contributions, cards=seed.cards)
            changed += after != before
    finally:
        store.close()
    print(f"seeded {args.count} SI records (seed {args.seed}); {changed} new or changed")
    return 0


def worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from gateway.bootstrap import status_worker
    from gateway.clock import SystemClock
    from gateway.dossiers import worker as loop

    work = status_worker(Settings())
    try:
        if args.once:
            reminded, report = loop.work_once(
                work.store, work.sink, clock=SystemClock(), policy=work.policy
            )
            state = "paused" if report.paused else f"delivered {report.delivered}"
            print(f"reminded {reminded}; {state}, to retry {report.retried}, dead {report.dead}")
            return 0
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        loop.run(work.store, work.sink, clock=SystemClock(), policy=work.policy, stop=stop)
        return 0
    finally:
        work.close()


def outbox(args: argparse.Namespace) -> int:
    from gateway.bootstrap import open_dossier_store

    store = open_dossier_store(Settings())
    try:
        if args.outbox_command == "dead":
            for m in store.dead_letters(limit=args.limit):
                print(
                    f"{m.seq}\t{m.change.ma_ho_so}\t{m.change.kind}\t{m.attempts}\t{m.last_error}"
                )
        elif args.outbox_command == "redrive":
            count = store.redrive(seq=args.seq, at=datetime.now(UTC))
            print(f"{count} dead message(s) pending again")
            return 0 if count or args.seq is None else 1
        else:
            store.pause_delivery(args.outbox_command == "pause")
            print(f"delivery {args.outbox_command}d: workers see it at their next pass")
        return 0
    finally:
        store.close()


def _outbox_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "worker",
        help="deliver dossier status changes to the portal (DVCQG) and send supplement "
        "reminders, until SIGTERM or SIGINT",
    )
    p.add_argument(
        "--once", action="store_true", help="send due reminders, deliver what is due now, then exit"
    )
    p.set_defaults(run=worker)
    outbox_parser = commands.add_parser(
        "outbox", help="the dossiers' outbox to the portal: dead letters and the kill switch"
    )
    actions = outbox_parser.add_subparsers(dest="outbox_command", required=True)
    p = actions.add_parser("dead", help="list dead messages: seq, MaHoSo, kind, attempts, error")
    p.add_argument("--limit", type=int, default=100, metavar="N", help="(default %(default)s)")
    p = actions.add_parser("redrive", help="make dead messages pending again, with a new budget")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--seq", type=int, metavar="N", help="the dead message of this seq")
    which.add_argument("--all", action="store_true", help="every dead message")
    actions.add_parser("pause", help="stop delivery (the kill switch) for every worker")
    actions.add_parser("resume", help="let delivery go on")
    outbox_parser.set_defaults(run=outbox)


def _bulk_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from adapters.hospital.synth import FAULTS

    p = commands.add_parser(
        "ingest",
        help="send many signed batches concurrently, resumably; print a summary",
        description="Send every FILE and the *.xml files under every DIR; answers are journaled, "
        "so running the same command again sends only what has no receipt yet.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE|DIR")
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--token", required=True)
    p.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="uploads at a time, each on a connection of its own (default 8; about 4 per worker "
        "of the gateway)",
    )
    p.add_argument(
        "--journal", default=".ingest-journal.jsonl", metavar="PATH", help="(default %(default)s)"
    )
    p.add_argument(
        "--timeout", type=float, default=120.0, metavar="SECONDS", help="per request (default 120)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(run=ingest)

    p = commands.add_parser(
        "generate",
        help="write signed synthetic QĐ 130 batches, valid or with chosen faults",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="faults (--fault NAME, repeatable):\n"
        + "\n".join(
            textwrap.fill(text, 100, initial_indent=f"  {name:<22}", subsequent_indent=" " * 24)
            for name, text in sorted(FAULTS.items())
        ),
    )
    p.add_argument("outdir", metavar="OUTDIR", help="written as batch-FACILITY-SEED-N.xml")
    p.add_argument("--key", required=True, help="the signer's private key (PEM)")
    p.add_argument("--cert", required=True, help="the signer's certificate (PEM), then its chain")
    p.add_argument("--facility", required=True, help="5-character facility code (MACSKCB)")
    p.add_argument("--batches", type=int, required=True, metavar="N")
    p.add_argument("--hoso-per-batch", type=int, required=True, metavar="M")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(FAULTS),
        metavar="NAME",
        help="see below",
    )
    p.add_argument(
        "--fault-rate",
        type=float,
        default=1.0,
        metavar="R",
        help="chance of each fault per HOSO (default 1)",
    )
    p.add_argument(
        "--seed", type=int, metavar="S", help="reproduce a set (default: random, printed)"
    )
    p.add_argument(
        "--no-wrapper", action="store_true", help="XML2..XML5 without their CHITIEU_* wrapper"
    )
    p.set_defaults(run=generate)

    from adapters.portal.synth import FAULTS as DOSSIER_FAULTS

    p = commands.add_parser(
        "generate-dossiers",
        help="write signed synthetic VSS e-dossiers (also: gateway generate dossiers OUTDIR)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="faults (--fault NAME, repeatable):\n"
        + "\n".join(f"  {name:<26}{text}" for name, text in DOSSIER_FAULTS.items()),
    )
    p.add_argument("outdir", metavar="OUTDIR", help="written as MAHOSO.xml, with dossiers.json")
    p.add_argument("--key", required=True, help="the applicant's private key (PEM)")
    p.add_argument(
        "--cert", required=True, help="its certificate (UID=MST:... or UID=CCCD:...), then chain"
    )
    p.add_argument("--other-key", help="another identity, for the *-signed-by-other faults")
    p.add_argument("--other-cert")
    p.add_argument(
        "--procedure",
        action="append",
        default=[],
        metavar="CODE",
        help="repeatable (default: every procedure the applicant may file)",
    )
    p.add_argument("--count", type=int, default=1, metavar="N", help="dossiers per procedure")
    p.add_argument("--fault", action="append", default=[], choices=sorted(DOSSIER_FAULTS))
    p.add_argument("--agency", default="000.00.01.G24", help="MaHoSo prefix (%(default)s)")
    p.add_argument("--first-number", type=int, default=1, metavar="N", help="of MaHoSo's NNNNN")
    p.add_argument("--seed", type=int, metavar="S", help="reproduce a set (default: random)")
    p.set_defaults(run=generate_dossiers)


def _seed_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    seed = commands.add_parser("seed", help="load synthetic data into the gateway's stores")
    kinds = seed.add_subparsers(dest="seed_command", required=True)
    p = kinds.add_parser(
        "si-records",
        help="synthetic citizens' SI records (person, contributions, an HI card valid this "
        "year) in the dossiers' database; the same --count and --seed give the same citizens",
    )
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=seed_si_records)


def _audit_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser(
        "audit",
        help="the audit log of reads of personal data (configured by GATEWAY_* like serve)",
    )
    actions = audit.add_subparsers(dest="audit_command", required=True)
    p = actions.add_parser(
        "verify", help="check the hash chain; exit 1 and name the first broken entry if not"
    )
    p.add_argument(
        "--anchor",
        type=anchor,
        metavar="SEQ:HASH",
        help="a head printed by an earlier verify and kept elsewhere: the log must still hold it",
    )
    p.add_argument(
        "--checkpoint-cert",
        type=Path,
        metavar="PEM",
        help="the certificate that signed the log's checkpoint (default: GATEWAY_SIGNING_CERT)",
    )
    p.set_defaults(run=audit_verify)
    p = actions.add_parser("tail", help="print the last events as JSON lines, oldest first")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="(default %(default)s)")
    p.set_defaults(run=audit_tail)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="run the gateway (configured by GATEWAY_* variables)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the private key of --tls-cert")
    p.add_argument("--tls-client-ca", help="CA bundle for client certificates (mutual TLS)")
    p.set_defaults(run=serve)

    p = commands.add_parser(
        "demo",
        help="development PKI, partners, sample documents (kept in --dir for the next run); "
        "then serve",
    )
    p.add_argument("--dir", default=".demo")
    p.add_argument(
        "--reset", action="store_true", help="delete what an earlier demo made in --dir first"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument(
        "--portal-port",
        type=int,
        default=8090,
        help="the port of the DVCQG simulator that dossier statuses go to (0: a free one)",
    )
    p.add_argument(
        "--vneid-port",
        type=int,
        default=8091,
        help="the port of the VNeID simulator that mints citizens' ID tokens (0: a free one)",
    )
    p.add_argument(
        "--population-port",
        type=int,
        default=8092,
        help="the port of the population database (C06) simulator (0: a free one)",
    )
    p.set_defaults(run=demo)

    p = commands.add_parser("dev-pki", help="write a development CA, certificates and CRLs")
    p.add_argument("--out", required=True)
    p.add_argument("--partner", action="append", default=[], help="a certificate for this name")
    p.set_defaults(run=dev_pki)

    p = commands.add_parser("sign", help="sign an XML document (enveloped, .NET SignedXml layout)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.set_defaults(run=sign)

    p = commands.add_parser("verify", help="verify a signed batch or receipt offline")
    p.add_argument("input")
    p.add_argument("--trust", required=True, help="trust store folder (CA certificates, CRLs)")
    p.add_argument("--at", help="verification time, ISO 8601 (default: now)")
    p.add_argument("--no-crl", action="store_true", help="accept issuers without a loaded CRL")
    p.set_defaults(run=verify)

    p = commands.add_parser("submit", help="send one signed claim batch to a gateway")
    p.add_argument("input")
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--token", required=True)
    p.set_defaults(run=submit)

    p = commands.add_parser(
        "legacy-password", help="partner-file lines for a VSS-portal legacy login (scrypt hash)"
    )
    p.add_argument("--username", required=True, help="the login the hospital's software uses")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--md5", help="the uppercase MD5 the client sends, instead of a password")
    source.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    p.set_defaults(run=legacy_password)

    for add in (_seed_commands, _bulk_commands, _audit_commands, db.add_commands, _outbox_commands):
        add(commands)
    p = commands.add_parser(
        "retention",
        help="print what is past its GATEWAY_RETENTION_* period; --apply drops it",
    )
    p.add_argument("--apply", action="store_true", help="drop it (default: a dry run)")
    p.set_defaults(run=retention)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:2] == ["generate", "dossiers"]:
        # "generate OUTDIR" writes claim batches; a folder named "dossiers" is "./dossiers".
        words = ["generate-dossiers", *words[2:]]
    args = _parser().parse_args(words)
    logs.configure()
    try:
        result = args.run(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"{exc.code}: {exc.detail}", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
