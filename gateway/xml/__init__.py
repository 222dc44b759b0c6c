"""XML intake: the hardened parser, namespaces and the compiled contract registry."""
