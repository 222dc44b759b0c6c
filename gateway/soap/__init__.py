"""The SOAP 1.1 entrypoint: envelopes, faults, WSDL serving and operation dispatch."""
