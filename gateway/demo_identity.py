"""The demo's identity partners (``gateway demo``): a VNeID identity-provider simulator and a
population-database (C06) simulator on loopback ports beside the gateway, the VNeID partner
that sends citizens' lookups, and the part of the banner that shows a lookup and a card check.

The VNeID simulator signs with keys it makes when it starts: an ID token lives as long as the
run that minted it (ten minutes at most), the partner's token is kept in the demo folder. The
population simulator holds the people the demo's dossiers name, so that they pass the check at
submission (GATEWAY_POPULATION_URL is set).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from adapters.population.citizens import Citizen, citizen, current_address
from adapters.population.simulator import Population
from adapters.population.simulator import create_app as population_app
from adapters.vneid.simulator import IdentityProvider
from adapters.vneid.simulator import create_app as vneid_app
from gateway.partners import token_hash
from gateway.server import ServerThread

VNEID = "vneid"  # the partner id of VNeID's backend, whose token is kept in vneid.token
VNEID_CLIENT_ID = "vss-gateway"  # the gateway as a client of VNeID: the aud of ID tokens
# The gateway's NDXP account at C06: its member/subsystem (X-Road-Client) and MaCanBo.
POPULATION_USERNAME = "vss-gateway"
POPULATION_CLIENT = "VN/GOV/000.00.12.G24/vss-gateway"
POPULATION_PATH = "/population"
# The checking staff member a card check names (hoTenCb, cccdCb): a made-up receptionist.
STAFF = ("Nguyễn Văn Tiếp Đón", "030181000123")


def vneid_entry(token: str) -> str:
    """The partner-file entry of VNeID's backend: it may look SI records up, for citizens."""
    return (
        "[[partners]]\n"
        f'id = "{VNEID}"\n'
        'kind = "vneid"\n'
        'name = "VNeID backend (simulated)"\n'
        'services = ["si_records.lookup"]\n'
        f'tokens = ["{token_hash(token)}"]\n'
    )


def population_settings(secret: str, api_key: str) -> dict[str, str]:
    """The GATEWAY_POPULATION_* settings of the demo gateway, all but its URL."""
    return {
        "GATEWAY_POPULATION_USERNAME": POPULATION_USERNAME,
        "GATEWAY_POPULATION_SECRET": secret,
        "GATEWAY_POPULATION_API_KEY": api_key,
        "GATEWAY_POPULATION_CLIENT": POPULATION_CLIENT,
        "GATEWAY_POPULATION_OFFICER": POPULATION_USERNAME,
    }


def person(citizen_id: str, full_name: str, born: str) -> Citizen:
    """Someone the population simulator holds (``born``: yyyy-MM-dd), living in Hà Nội."""
    return citizen(citizen_id, full_name, born=born, residence=current_address("01", "00001", "-"))


@dataclass(frozen=True)
class IdentityRun:
    """The identity simulators while the demo runs: their addresses, and the settings that
    point the gateway at them."""

    vneid_url: str
    population_url: str

    @property
    def settings(self) -> dict[str, str]:
        return {
            "GATEWAY_VNEID_JWKS": f"{self.vneid_url}/jwks",
            "GATEWAY_VNEID_ISSUER": self.vneid_url,
            "GATEWAY_VNEID_CLIENT_ID": VNEID_CLIENT_ID,
            "GATEWAY_POPULATION_URL": self.population_url,
        }


@contextmanager
def simulators(
    env: dict[str, str],
    citizens: Iterable[Citizen],
    *,
    vneid_port: int = 0,
    population_port: int = 0,
) -> Iterator[IdentityRun]:
    """The VNeID and C06 simulators on their ports (0: free ones) until the block ends; C06
    takes the account of ``env``'s GATEWAY_POPULATION_* and holds ``citizens``."""
    # The issuer is the provider's own address, as OpenID Connect Discovery has it: known
    # once the simulator listens (its port may be a free one).
    provider = IdentityProvider(issuer="", client_id=VNEID_CLIENT_ID)
    population = Population(
        citizens,
        username=env["GATEWAY_POPULATION_USERNAME"],
        secret=env["GATEWAY_POPULATION_SECRET"],
        api_key=env["GATEWAY_POPULATION_API_KEY"],
    )
    with ExitStack() as running:
        vneid = running.enter_context(
            ServerThread(vneid_app(provider), name="VNeID simulator", port=vneid_port)
        )
        provider.issuer = vneid.url
        c06 = running.enter_context(
            ServerThread(
                population_app(population, path=POPULATION_PATH),
                name="C06 simulator",
                port=population_port,
            )
        )
        yield IdentityRun(vneid.url, f"{c06.url}{POPULATION_PATH}")


# The id_token and access_token of a JSON answer (both are compact: no spaces).
def _member(name: str) -> str:
    return rf"""sed -n 's/.*"{name}":"\([^"]*\)".*/\1/p'"""


@dataclass(frozen=True)
class Holder:
    """The demo citizen as a card check names her: card, name, birth (dd/MM/yyyy)."""

    citizen_id: str
    card: str
    name: str
    birth: str


@dataclass(frozen=True)
class Login:
    """A demo hospital's VSS-portal login: its username and the file of its password."""

    username: str
    password_file: Path


def banner(
    base: str, vneid_url: str, *, folder: Path, holder: Holder, other: str, login: Login
) -> str:
    """The banner's identity part: commands to paste, as VNeID and a hospital send them."""
    staff_name, staff_id = STAFF
    body = (
        f'{{"maThe":"{holder.card}","hoTen":"{holder.name}","ngaySinh":"{holder.birth}",'
        f'"hoTenCb":"{staff_name}","cccdCb":"{staff_id}"}}'
    )
    return f"""
Identity: VNeID looks a citizen's SI record up with her ID token (from the VNeID simulator at
{vneid_url}); persons in dossiers are checked with the population database (C06) simulator.
  ID token:      ID_TOKEN=$(curl -s -H "Content-Type: application/json" \\
                   -d '{{"SoDinhDanh":"{holder.citizen_id}"}}' {vneid_url}/_simulator/tokens \\
                   | {_member("id_token")})
  her record:    curl -s -H "Authorization: Bearer $(cat {folder}/{VNEID}.token)" \\
                   -H "X-Citizen-Assertion: $ID_TOKEN" \\
                   {base}/api/v1/si-records/{holder.citizen_id}; echo
  another's:     curl -s -o /dev/null -w '%{{http_code}}\\n' \\
                   -H "Authorization: Bearer $(cat {folder}/{VNEID}.token)" \\
                   -H "X-Citizen-Assertion: $ID_TOKEN" {base}/api/v1/si-records/{other}   # 403
  card check (CV 1923), with the VSS-portal login of the claims part:
                 PASSWORD_MD5=$(printf %s "$(cat {login.password_file})" | md5sum | cut -c1-32 \\
                   | tr a-f A-F)
                 KEY=$(curl -s {base}/api/token/take -d username={login.username} \\
                   -d "password=$PASSWORD_MD5")
                 TOKEN=$(echo "$KEY" | {_member("access_token")})
                 TOKEN_ID=$(echo "$KEY" | {_member("id_token")})
                 Q="token=$TOKEN&id_token=$TOKEN_ID&username={login.username}&password=$PASSWORD_MD5"
                 curl -s -H "Content-Type: application/json" -d '{body}' \\
                   "{base}/api/egw/KQNhanLichSuKCB2024?$Q"; echo
"""
