"""The SOAP 1.1 entrypoint: envelopes, faults, WSDL serving and operation dispatch."""

# The WSDL (in the contracts' wsdl/ folder) of each service, served at /soap/<service>?wsdl, and
# the schemas (in xsd/, by registry name) that the WSDLs import, served at ?xsd=<file> beside
# each WSDL that imports them (IMPORTS).
WSDLS = {"claims": "claims.wsdl", "dossiers": "dossiers.wsdl", "lookup": "lookup.wsdl"}
SCHEMAS = {"record.xsd": "record"}
IMPORTS = {
    "claims": frozenset({"record.xsd"}),
    "dossiers": frozenset[str](),
    "lookup": frozenset[str](),
}
