"""Every SOAP service's WSDL as partners load it, over real HTTP: the gateway's own address or its
public one written in, never the Host header's; beside it at ``?xsd=``, the schemas it imports
and nothing else; zeep, unmodified, reads the address from it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest

from gateway.bootstrap import build
from gateway.config import Settings
from gateway.xml.ns import XSD, q
from gateway.xml.parser import XmlLimits, parse
from gateway.xml.tree import find_all
from tests.conftest import Served
from tests.support.soap import ZeepClients

CONTRACTS = Path(__file__).resolve().parents[2]
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
# service -> (its wsdl:service and wsdl:port, the schemas its WSDL imports)
SERVICES = {
    "claims": ("ClaimsService", "ClaimsPort", {"record.xsd"}),
    "dossiers": ("DossiersService", "DossiersPort", set()),
    "lookup": ("LookupService", "LookupPort", set()),
}


def _soap_address(wsdl: bytes) -> str | None:
    address = parse(wsdl, XmlLimits()).find(f".//{q(WSDL_SOAP, 'address')}")
    assert address is not None
    return address.get("location")


@pytest.mark.parametrize("service", SERVICES)
def test_wsdl_address_is_the_servers_own_by_default(served: Served, service: str) -> None:
    with served.client(None) as http:
        wsdl = http.get(f"/soap/{service}", params={"wsdl": ""})
        # The Host header is the client's to write: a WSDL cached on its word would send other
        # clients' SOAP calls to evil.example.
        poisoned = http.get(f"/soap/{service}?wsdl", headers={"Host": "evil.example"})
        bare = http.get(f"/soap/{service}")
    assert wsdl.status_code == 200
    assert wsdl.headers["content-type"].startswith("text/xml")
    assert _soap_address(wsdl.content) == f"{served.url}/soap/{service}"
    assert _soap_address(poisoned.content) == f"{served.url}/soap/{service}"
    assert b"localhost:8080" not in wsdl.content
    assert (bare.status_code, bare.json()["code"]) == (404, "NOT_FOUND")

    clients = ZeepClients(served, service, partner="portal")
    service_name, port_name, _ = SERVICES[service]
    port = clients(None).wsdl.services[service_name].ports[port_name]
    clients.close()
    assert port.binding_options["address"] == f"{served.url}/soap/{service}"


@pytest.mark.parametrize("service", SERVICES)
def test_wsdl_address_is_the_public_url_whatever_the_host_header(
    settings: Settings, service: str
) -> None:
    public = build(settings.model_copy(update={"public_url": "https://gateway.vss.gov.vn"}))
    with Served(public) as served, served.client(None) as http:
        wsdl = http.get(f"/soap/{service}?wsdl", headers={"Host": "evil.example"})
    public.close()
    assert _soap_address(wsdl.content) == f"https://gateway.vss.gov.vn/soap/{service}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_schemas_a_wsdl_imports_and_only_those_are_served_beside_it(
    served: Served, service: str
) -> None:
    imported = SERVICES[service][2]
    url = f"{served.url}/soap/{service}?wsdl"
    with served.client(None) as http:
        wsdl = parse(http.get(url).content, XmlLimits())
        locations = [
            element.get("schemaLocation") or ""
            for element in find_all(wsdl, "//xs:import", {"xs": XSD})
        ]
        for location in locations:  # relative to the WSDL's address, as zeep resolves them
            schema = http.get(urljoin(url, location))
            name = location.partition("?xsd=")[2]
            assert schema.status_code == 200, location
            assert schema.content == (CONTRACTS / "xsd" / name).read_bytes()
        assert {location.partition("?xsd=")[2] for location in locations} == imported
        for other in ({"record.xsd"} - imported) | {"../wsdl/claims.wsdl", "dossier/hoso.xsd"}:
            assert http.get(f"/soap/{service}", params={"xsd": other}).status_code == 404
