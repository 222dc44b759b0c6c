"""Trust: XML signatures, certificate chains and revocation against pinned anchors."""
