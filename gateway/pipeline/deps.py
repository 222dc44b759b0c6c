"""What every flow of signed documents runs on (the claim pipeline, the dossier flow)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.clock import Clock
from gateway.metrics import Metrics
from gateway.trust.anchors import TrustAnchors
from gateway.trust.policy import SignaturePolicy
from gateway.trust.sign import SigningIdentity
from gateway.xml.parser import XmlLimits
from gateway.xml.schemas import SchemaRegistry


@dataclass(frozen=True)
class FlowDeps:
    """The trust a document is verified with, the limits it is read within, the identity that
    signs its receipt, the clock and the metrics: the same parts for every flow, built once by
    the composition root; each flow's deps add its own ports."""

    anchors: TrustAnchors
    policy: SignaturePolicy
    schemas: SchemaRegistry
    limits: XmlLimits
    identity: SigningIdentity
    clock: Clock
    metrics: Metrics
