"""The VNeID adapter: the national e-identity provider, its ID tokens and its simulator."""
