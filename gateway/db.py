"""The ``gateway db`` commands: the schema version of ``GATEWAY_STORE_URL``'s PostgreSQL database
(``status``) and its migrations (``upgrade``)."""

from __future__ import annotations

import argparse

from gateway.config import Settings

_NOTHING = "GATEWAY_STORE_URL is not a postgresql:// URL: its store creates its own tables"


def _url() -> str | None:
    url = Settings().store_url
    return url if url.startswith(("postgresql://", "postgres://")) else None


def db_status(args: argparse.Namespace) -> int:
    """Print the database's version and the migrations it lacks; exit 1 if it lacks any."""
    from gateway.store import pg_schema
    from gateway.store.pg_database import where

    url = _url()
    if url is None:
        print(_NOTHING)
        return 0
    found = pg_schema.status(url)
    print(f"{where(url)}: schema version {found.current}, this gateway's {found.latest}")
    for migration in found.pending:
        print(f"pending: {migration.label}")
    if found.pending:
        print("run `gateway db upgrade` to apply them")
    return 1 if found.pending else 0


def db_upgrade(args: argparse.Namespace) -> int:
    """Apply the migrations the database lacks (up to ``--to``), each in its own transaction."""
    from gateway.store import pg_schema
    from gateway.store.pg_database import where

    url = _url()
    if url is None:
        print(_NOTHING)
        return 0
    applied = pg_schema.upgrade(url, target=args.to)
    for migration in applied:
        print(f"applied: {migration.label}")
    version = pg_schema.status(url).current
    print(f"{where(url)}: schema version {version}" + ("" if applied else " (up to date)"))
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser(
        "db", help="the schema of GATEWAY_STORE_URL's PostgreSQL database (versioned migrations)"
    )
    actions = db.add_subparsers(dest="db_command", required=True)
    p = actions.add_parser(
        "status", help="print the schema version and pending migrations (exit 1 if any)"
    )
    p.set_defaults(run=db_status)
    p = actions.add_parser("upgrade", help="apply the pending migrations, one transaction each")
    p.add_argument(
        "--to", type=int, metavar="VERSION", help="stop at this version (default: the latest)"
    )
    p.set_defaults(run=db_upgrade)
