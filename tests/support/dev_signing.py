"""A throwaway root → issuing CA → leaf chain: the leaf signing identity and the anchors over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from gateway.trust.anchors import TrustAnchors
from gateway.trust.devpki import DevCA
from gateway.trust.policy import SignaturePolicy
from gateway.trust.sign import SigningIdentity
from gateway.trust.verify import VerifiedDocument, verify_enveloped


@dataclass(frozen=True)
class DevSigning:
    identity: SigningIdentity
    anchors: TrustAnchors

    @classmethod
    def issue(cls, common_name: str) -> DevSigning:
        """A leaf named ``common_name`` under a new Test Root CA → Test Issuing CA."""
        root = DevCA.root("Test Root CA")
        issuing = root.intermediate("Test Issuing CA")
        leaf = issuing.issue(common_name)
        identity = SigningIdentity(leaf.key, leaf.certificate, (issuing.certificate,))
        anchors = TrustAnchors([root.certificate, issuing.certificate], [root.crl(), issuing.crl()])
        return cls(identity, anchors)

    def verify(self, root: etree._Element, *location: str) -> VerifiedDocument:
        """Verify, now and with the default policy, the enveloped signature at ``location``."""
        return verify_enveloped(
            root,
            location=location,
            anchors=self.anchors,
            policy=SignaturePolicy(),
            at=datetime.now(UTC),
        )
