"""Every XML namespace the gateway reads or writes, in one place."""

from typing import Final

DS: Final = "http://www.w3.org/2000/09/xmldsig#"
DSIG_MORE: Final = "http://www.w3.org/2001/04/xmldsig-more#"
XMLENC: Final = "http://www.w3.org/2001/04/xmlenc#"
SOAP11: Final = "http://schemas.xmlsoap.org/soap/envelope/"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
XSD: Final = "http://www.w3.org/2001/XMLSchema"
XML: Final = "http://www.w3.org/XML/1998/namespace"
# Our own vocabularies: receipts, the common record, the SOAP services.
RECEIPT: Final = "urn:vss:gateway:receipt:1"
RECORD: Final = "urn:vss:gateway:record:1"
CLAIMS_SERVICE: Final = "urn:vss:gateway:claims:1"
DOSSIERS_SERVICE: Final = "urn:vss:gateway:dossiers:1"
LOOKUP_SERVICE: Final = "urn:vss:gateway:lookup:1"


def q(ns: str, local: str) -> str:
    """Clark notation ``{ns}local`` for lxml."""
    return f"{{{ns}}}{local}"
