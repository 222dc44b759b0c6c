"""The common record format every accepted document becomes (SPEC section 3)."""
