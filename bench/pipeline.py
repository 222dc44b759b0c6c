"""Per-batch cost of the verification pipeline against a floor of bare library calls.

    python -m bench.pipeline [--docs N] [--rounds R] [--profile]

In one process, on the same signed ~20 KB QĐ 130 batches, rounds interleave three stages (their
order rotates each round), each timed over the round's ``N`` documents:

- floor: the bare lxml / cryptography / hashlib calls that any verifier of these documents must
  make (``FLOOR`` below lists them);
- verification: the gateway's own code doing what the floor does: hardened parse,
  ``verify_enveloped``, envelope XSD, every table decoded, hardened-parsed and validated (the
  issue's goal, at most 1.5x the floor, is about this stage);
- pipeline: verification plus what the floor does not do: ``Qd130Format.items`` normalizing every
  table, the business rules, signals and the visit history;
- full: ``submit_batch`` on a real SQLite store (fsync per commit), receipt signing included.

Every document is distinct, so ``submit_batch`` never answers a duplicate. Each round's per-document
mean is taken; the report gives the median over rounds and the ratios to the floor.
"""

from __future__ import annotations

import argparse
import base64
import copy
import cProfile
import gc
import hashlib
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from adapters.hospital import qd130, xml1
from bench.corpus import (
    HOSO_PER_BATCH,
    PARTNER_ID,
    World,
    make_world,
    shape,
    signed_documents_parallel,
)
from gateway.bootstrap import Gateway, build
from gateway.partners import Partner
from gateway.pipeline.batches import submit_batch
from gateway.pipeline.ports import NormalizedItem, ValidatedDocument
from gateway.trust.verify import verify_enveloped
from gateway.xml.ns import DS
from gateway.xml.parser import decode_base64, load_contract, parse

GOAL_PIPELINE = 1.5  # pipeline / floor, at most

FLOOR = """\
floor = per document, bare library calls only:
  parse      lxml fromstring with an XMLParser of the gateway's options (no entities, no
             network, no DTD), without the gateway's extra construct / shape checks
  chain      base64 + DER load of the 2 KeyInfo certificates; leaf <- issuing CA <- root
             anchor signature checks (RSA-2048, RSA-3072), validity dates, 2 CRL look-ups
             (CRLs parsed and their signatures checked once, at setup; the gateway caches
             chain building, so it skips these two RSA checks on every document)
  signedinfo inclusive C14N of SignedInfo (rebuilt standalone with its in-scope namespaces:
             lxml's subtree c14n emits spurious xmlns="", signxml#275) + RSA-2048 PKCS#1 v1.5
             verify (cryptography)
  digest     enveloped transform (remove ds:Signature), inclusive C14N of the document,
             SHA-256 (hashlib), compare with DigestValue
  envelope   lxml XMLSchema.validate of GIAMDINHHS
  tables     per FILEHOSO: base64 decode + lxml parse, then XMLSchema.validate if the contracts
             hold the table's XSD (xsd/qd130/xml<n>.xsd, as the gateway validates it)
not in the floor: the gateway's hardening checks, XML1 normalization, receipts, storage"""

_SIGNATURE = f"CHUKYDONVI/{{{DS}}}Signature"
_CERTS = f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"

Lap = Callable[[str], None]
Doc = TypeVar("Doc")  # what a stage takes: signed bytes here, a generated dossier elsewhere


def no_lap(_: str) -> None:
    return None


@dataclass
class Laps:
    """Per-step nanoseconds, accumulated over documents (the breakdown pass)."""

    totals: dict[str, int] = field(default_factory=dict)
    _last: int = 0

    def start(self) -> None:
        self._last = time.perf_counter_ns()

    def __call__(self, step: str) -> None:
        now = time.perf_counter_ns()
        self.totals[step] = self.totals.get(step, 0) + now - self._last
        self._last = now


# --- floor ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Floor:
    """What the bare calls need, prepared once: a parser, compiled XSDs, the anchor, CRLs."""

    parser: etree.XMLParser  # noqa: TID251 - the floor's own bare parser
    envelope: etree.XMLSchema
    tables: dict[str, etree.XMLSchema]  # LOAIHOSO -> schema, for each table with an XSD
    anchor: x509.Certificate
    crls: dict[x509.Name, x509.CertificateRevocationList]

    @classmethod
    def load(cls, world: World, contracts: Path) -> Floor:
        # The floor is, by definition, lxml called directly: not through gateway.xml.parser.
        parser = etree.XMLParser(  # noqa: TID251
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        xsd = contracts / "xsd"

        def schema(path: Path) -> etree.XMLSchema:
            return etree.XMLSchema(load_contract(str(path), folder=str(xsd)))

        envelope = schema(xsd / "qd130" / "giamdinhhs.xsd")
        tables = {
            path.stem.upper(): schema(path)
            for path in sorted((xsd / "qd130").glob("xml*.xsd"))
            if path.stem[3:].isdigit()
        }
        anchor = x509.load_pem_x509_certificate((world.trust_store / "root.pem").read_bytes())
        crls = {}
        for path in world.trust_store.glob("*.crl"):
            crl = x509.load_pem_x509_crl(path.read_bytes())
            crls[crl.issuer] = crl
        issuing = world.hospital.chain[0]
        for crl in crls.values():
            issuer = anchor if crl.issuer == anchor.subject else issuing
            assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        return cls(parser, envelope, tables, anchor, crls)


def _check_cert(
    cert: x509.Certificate, issuer: x509.Certificate, floor: Floor, at: datetime
) -> None:
    cert.verify_directly_issued_by(issuer)
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise ValueError("certificate outside its validity")
    if floor.crls[issuer.subject].get_revoked_certificate_by_serial_number(cert.serial_number):
        raise ValueError("certificate revoked")


def floor_signed_info(signature: etree._Element, signer: x509.Certificate) -> None:
    """Inclusive C14N of SignedInfo, rebuilt standalone, and the RSA PKCS#1 v1.5 verify."""
    signed_info, value = signature[0], signature[1]
    # lxml-stubs type nsmap without the None key of a default namespace.
    apex = etree.Element(signed_info.tag, nsmap=signed_info.nsmap)  # type: ignore[arg-type]
    apex.extend(copy.deepcopy(child) for child in signed_info)
    key = signer.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        base64.b64decode(value.text or ""),
        etree.tostring(apex, method="c14n"),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def floor_digest(root: etree._Element, signature: etree._Element) -> None:
    """The enveloped transform, inclusive C14N of the document, SHA-256, against DigestValue."""
    expected = base64.b64decode(signature.findtext(f".//{{{DS}}}DigestValue") or "")
    parent = signature.getparent()
    assert parent is not None
    parent.remove(signature)
    if hashlib.sha256(etree.tostring(root, method="c14n")).digest() != expected:
        raise ValueError("digest mismatch")


def floor_once(data: bytes, floor: Floor, at: datetime, lap: Lap = no_lap) -> int:
    """The bare calls on one document; returns the number of tables, raises if anything fails."""
    root = etree.fromstring(data, floor.parser)  # noqa: TID251 - the floor is bare lxml
    lap("parse")
    signature = root.find(_SIGNATURE)
    assert signature is not None
    leaf, issuing = (
        x509.load_der_x509_certificate(base64.b64decode(e.text or ""))
        for e in signature.iterfind(_CERTS)
    )
    _check_cert(leaf, issuing, floor, at)
    _check_cert(issuing, floor.anchor, floor, at)
    lap("chain")
    floor_signed_info(signature, leaf)
    lap("signedinfo")
    floor_digest(root, signature)
    lap("digest")
    if not floor.envelope.validate(root):
        raise ValueError(f"envelope invalid: {floor.envelope.error_log}")
    lap("envelope")
    tables = 0
    for file in root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO"):
        table = etree.fromstring(  # noqa: TID251 - the floor is bare lxml
            base64.b64decode(file.findtext("NOIDUNGFILE") or ""), floor.parser
        )
        schema = floor.tables.get(file.findtext("LOAIHOSO") or "")
        if schema is not None and not schema.validate(table):
            raise ValueError(f"{file.findtext('LOAIHOSO')} invalid: {schema.error_log}")
        tables += 1
    lap("tables")
    return tables


# --- the gateway ------------------------------------------------------------------------------


def _envelope(data: bytes, gateway: Gateway, partner: Partner, lap: Lap) -> ValidatedDocument:
    """Hardened parse, signature and chain, signer binding, envelope XSD: the gateway's code."""
    deps, fmt = gateway.pipeline, gateway.claims
    root = parse(data, deps.limits)
    lap("parse")
    verified = verify_enveloped(
        root,
        location=fmt.signature_location,
        anchors=deps.anchors,
        policy=deps.policy,
        at=deps.clock.now(),
    )
    if verified.signer.fingerprint not in partner.certificates:
        raise RuntimeError("signer not registered to the partner")
    lap("verify")
    deps.schemas.validate(fmt.envelope_schema, verified.root)
    return ValidatedDocument(verified=verified, schema=fmt.envelope_schema)


def pipeline_once(data: bytes, gateway: Gateway, partner: Partner, lap: Lap = no_lap) -> int:
    """The gateway's steps of ``submit_batch`` before storage; returns the number of items."""
    deps, fmt = gateway.pipeline, gateway.claims
    document = _envelope(data, gateway, partner, lap)
    if fmt.facility_codes(document) - partner.facility_codes:
        raise RuntimeError("foreign facility")
    lap("envelope")
    items = fmt.items(document, schemas=deps.schemas, limits=deps.limits, history=deps.store)
    if not all(isinstance(item, NormalizedItem) for item in items):
        raise RuntimeError(f"an item was rejected: {items}")
    lap("items")
    return len(items)


def verification_once(data: bytes, gateway: Gateway, partner: Partner) -> int:
    """What the floor mirrors, done by the gateway's own code: hardened parse, signature and
    chain, envelope XSD, then every table decoded, hardened-parsed and validated by its XSD."""
    deps = gateway.pipeline
    verified = _envelope(data, gateway, partner, no_lap).verified
    hosos = [
        qd130.decode_hoso(hoso, index, deps.limits)
        for index, hoso in enumerate(verified.root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO"), 1)
    ]
    for hoso in hosos:
        qd130.validate_tables(hoso.tables, deps.schemas)
    return len(hosos)


def items_breakdown(data: bytes, gateway: Gateway, partner: Partner, laps: Laps) -> None:
    """``Qd130Format.items`` replayed with its public parts, to split its time."""
    deps = gateway.pipeline
    root = parse(data, deps.limits)
    verify_enveloped(
        root,
        location=gateway.claims.signature_location,
        anchors=deps.anchors,
        policy=deps.policy,
        at=deps.clock.now(),
    )
    laps.start()
    summaries = []
    for file in root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO"):
        data = decode_base64(file.findtext("NOIDUNGFILE"), deps.limits, what="table")
        table = parse(data, deps.limits)
        if file.findtext("LOAIHOSO") == "XML1":
            summaries.append(table)
    laps("items: decode + parse")
    for summary in summaries:
        deps.schemas.validate("qd130/xml1", summary, table="XML1")
    laps("items: XML1 XSD")
    for summary in summaries:
        xml1.normalize(summary)
    laps("items: XML1 normalize")


def full_once(data: bytes, gateway: Gateway, partner: Partner) -> int:
    outcome = submit_batch(
        data, partner=partner, channel="rest", fmt=gateway.claims, deps=gateway.pipeline
    )
    if outcome.duplicate or outcome.receipt.status != "accepted":
        raise RuntimeError(f"not accepted: {outcome.receipt.status}, duplicate={outcome.duplicate}")
    return len(outcome.receipt.results)


# --- the run ----------------------------------------------------------------------------------


def timed(run: Callable[[Doc], object], documents: list[Doc]) -> float:
    """Mean microseconds per document over ``documents``."""
    start = time.perf_counter_ns()
    for document in documents:
        run(document)
    return (time.perf_counter_ns() - start) / len(documents) / 1000


def median_us(values: list[float]) -> str:
    """The median of per-round means, with the range of the rounds."""
    return f"{statistics.median(values):8.0f} µs  (rounds {min(values):.0f}-{max(values):.0f})"


def options(
    argv: list[str] | None,
    *,
    module: str,
    description: str | None,
    what: str,
    default: int,
    stage: str,
) -> argparse.Namespace:
    """A bench's command line: ``--docs`` (``what`` per round), ``--rounds`` (timed rounds; both
    ``default``) and ``--profile`` (cProfile ``stage``)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument(
        "--docs", type=int, default=default, help=f"{what} per round (default {default})"
    )
    parser.add_argument(
        "--rounds", type=int, default=default, help=f"timed rounds (default {default})"
    )
    parser.add_argument("--profile", action="store_true", help=f"cProfile the {stage} stage")
    return parser.parse_args(argv)


def rounds_of(documents: list[Doc], *, docs: int) -> list[list[Doc]]:
    """``documents`` in slices of ``docs``: the first warms up, each other is a round
    (``measure``)."""
    return [documents[i : i + docs] for i in range(0, len(documents), docs)]


def main(argv: list[str] | None = None) -> int:
    args = options(
        argv,
        module="bench.pipeline",
        description=__doc__,
        what="documents",
        default=40,
        stage="pipeline",
    )

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        folder = Path(tmp)
        world = make_world(folder / "pki")
        started = time.perf_counter()
        # One slice of distinct documents per round, plus one for warming up.
        documents = signed_documents_parallel(
            world, args.docs * (args.rounds + 1), processes=os.cpu_count() or 1
        )
        slices = rounds_of(documents, docs=args.docs)
        settings = world.settings(folder / "store" / "gateway.sqlite3")
        gateway = build(settings)
        try:
            partner = gateway.partners.get(PARTNER_ID)
            assert partner is not None
            floor = Floor.load(world, gateway.contracts.folder)
            shapes = [shape(d) for d in documents[: args.docs]]
            print(
                f"{len(documents)} distinct signed QĐ 130 batches ({HOSO_PER_BATCH} HOSO each) in "
                f"{time.perf_counter() - started:.1f} s; per batch (median of the first "
                f"{len(shapes)}): {statistics.median(s.size for s in shapes):.0f} bytes, "
                f"{statistics.median(s.elements for s in shapes):.0f} elements "
                f"({statistics.median(s.envelope_elements for s in shapes):.0f} envelope + "
                f"{statistics.median(s.table_elements for s in shapes):.0f} in "
                f"{statistics.median(s.tables for s in shapes):.0f} embedded tables)"
            )
            print(f"store: SQLite (WAL, synchronous=FULL) in {folder}")
            print(FLOOR)
            stages: dict[str, Callable[[bytes], object]] = {
                "floor": lambda d: floor_once(d, floor, datetime.now(UTC)),
                "verification": lambda d: verification_once(d, gateway, partner),
                "pipeline": lambda d: pipeline_once(d, gateway, partner),
                "full": lambda d: full_once(d, gateway, partner),
            }
            results = measure(stages, slices)
            _report(results)
            _breakdown(slices[0], floor, gateway, partner)
            _full_steps(gateway, statistics.median(results["full"]))
            if args.profile:
                profile(
                    lambda d: pipeline_once(d, gateway, partner), slices[0], title="pipeline stage"
                )
        finally:
            gateway.close()
    return 0


def measure(
    stages: dict[str, Callable[[Doc], object]], slices: list[list[Doc]]
) -> dict[str, list[float]]:
    """Mean µs per document of each stage in each round: ``slices[0]`` warms every stage up,
    then each further slice is one round, the stages in an order that rotates, each after a
    ``gc.collect()``."""
    names = list(stages)
    for name in names:  # warm-up: caches (chain, CRLs), allocator, SQLite pages
        timed(stages[name], slices[0])
    results: dict[str, list[float]] = {name: [] for name in names}
    for index, documents in enumerate(slices[1:]):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            gc.collect()
            results[name].append(timed(stages[name], documents))
    return results


def _report(results: dict[str, list[float]]) -> None:
    floor, pipeline, full = results["floor"], results["pipeline"], results["full"]
    verification = results["verification"]
    ratio = statistics.median(p / f for p, f in zip(verification, floor, strict=True))
    pipeline_ratio = statistics.median(p / f for p, f in zip(pipeline, floor, strict=True))
    full_ratio = statistics.median(p / f for p, f in zip(full, floor, strict=True))
    print()
    print(f"verification / floor = {ratio:.2f}x   (goal <= {GOAL_PIPELINE}x: ", end="")
    if ratio <= GOAL_PIPELINE:
        print("met)")
    else:
        excess = (ratio - GOAL_PIPELINE) * statistics.median(floor)
        print(f"missed: {ratio / GOAL_PIPELINE:.2f}x over, {excess:.0f} µs per document too many)")
    print(
        f"pipeline / floor     = {pipeline_ratio:.2f}x   "
        "(verification + normalization of every table, rules, signals; no goal)"
    )
    print(f"full / floor         = {full_ratio:.2f}x   (receipt signing and SQLite fsync included)")
    print(f"per document, median of {len(floor)} rounds:")
    print(f"  floor         {median_us(floor)}")
    print(f"  verification  {median_us(verification)}")
    print(f"  pipeline      {median_us(pipeline)}")
    print(f"  full          {median_us(full)}")


def _breakdown(
    documents: list[bytes], floor: Floor, gateway: Gateway, partner: Partner, repeat: int = 5
) -> None:
    """Where each stage's time goes (one extra pass, per-step laps; ±1 µs of lap overhead)."""
    floor_laps, pipeline_laps, item_laps = Laps(), Laps(), Laps()
    for _ in range(repeat):
        for document in documents:
            floor_laps.start()
            floor_once(document, floor, datetime.now(UTC), floor_laps)
            pipeline_laps.start()
            pipeline_once(document, gateway, partner, pipeline_laps)
            items_breakdown(document, gateway, partner, item_laps)
    count = len(documents) * repeat
    print("\nbreakdown, µs per document (separate pass):")
    for title, laps in (("floor", floor_laps), ("pipeline", pipeline_laps), ("", item_laps)):
        if title:
            total = sum(laps.totals.values()) / count / 1000
            print(f"  {title:<9} {total:6.0f}  = ", end="")
        else:
            print(f"  {'':<9} {'':>6}    ", end="")
        print(", ".join(f"{k} {v / count / 1000:.0f}" for k, v in laps.totals.items()))


def step_means(gateway: Gateway, steps: tuple[str, ...]) -> dict[str, float]:
    """Mean µs of each of the gateway's step histograms that ``steps`` names and that ran."""
    registry = gateway.metrics.registry
    means: dict[str, float] = {}
    for step in steps:
        total = registry.get_sample_value("gateway_pipeline_step_seconds_sum", {"step": step})
        count = registry.get_sample_value("gateway_pipeline_step_seconds_count", {"step": step})
        if total is not None and count:
            means[step] = total / count * 1e6
    return means


def _full_steps(gateway: Gateway, full_us: float) -> None:
    """The gateway's own step histograms, filled by every ``submit_batch`` of the run."""
    means = step_means(gateway, ("parse", "verify", "validate", "normalize", "receipt", "store"))
    rest = full_us - sum(means.values())
    steps = ", ".join(f"{k} {v:.0f}" for k, v in means.items())
    print(f"  {'full':<9} {full_us:6.0f}  = {steps}, rest {rest:.0f} (gateway step metrics, mean)")


def profile(
    run: Callable[[Doc], object], documents: list[Doc], *, title: str, repeat: int = 10
) -> None:
    """Print a cProfile of ``run`` over ``documents`` (``repeat`` times), by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        for document in documents:
            run(document)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    print(f"\ncProfile of the {title}, {repeat * len(documents)} documents, by own time:")
    print(out.getvalue())


if __name__ == "__main__":
    sys.exit(main())
