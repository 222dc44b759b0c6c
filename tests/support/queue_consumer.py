"""A department worker as its own process: it claims dossiers from its department's queue over
the gateway's REST API, refuses each (its work) and acknowledges it, printing a JSON line for each
claim and each ack, until SIGTERM; with ``--hold``, it claims one task and keeps it until killed.

``python -m tests.support.queue_consumer URL DEPARTMENT WORKER`` with the department's token in
``CONSUMER_TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

import httpx
import orjson


def say(**line: object) -> None:
    sys.stdout.write(orjson.dumps(line).decode() + "\n")
    sys.stdout.flush()


def consume(http: httpx.Client, department: str, worker: str, *, stop: threading.Event) -> None:
    """Claim, work and ack until ``stop``; an empty queue is asked again shortly."""
    while not stop.is_set():
        answer = http.post(
            f"/api/v1/queues/{department}/claims", params={"worker": worker, "visibility": 60}
        )
        if answer.status_code == 204:
            stop.wait(0.05)
            continue
        answer.raise_for_status()
        claim = answer.json()
        dossier_id = claim["dossier"]["id"]
        say(event="claimed", dossier=dossier_id, deliveries=claim["deliveries"])
        moved = http.post(
            f"/api/v1/dossiers/{dossier_id}/transitions",
            json={"to": "refused", "reason": "Không thuộc thẩm quyền", "officer": worker},
        )
        moved.raise_for_status()
        http.post(claim["links"]["ack"]).raise_for_status()
        say(event="acked", dossier=dossier_id)


def hold(http: httpx.Client, department: str, worker: str, *, visibility: float) -> None:
    """Claim one task and keep it, doing nothing, until killed."""
    answer = http.post(
        f"/api/v1/queues/{department}/claims", params={"worker": worker, "visibility": visibility}
    )
    answer.raise_for_status()
    claim = answer.json()
    say(event="claimed", dossier=claim["dossier"]["id"], deliveries=claim["deliveries"])
    threading.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("department")
    parser.add_argument("worker")
    parser.add_argument("--hold", type=float, metavar="VISIBILITY", help="claim one and keep it")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {os.environ['CONSUMER_TOKEN']}"}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with httpx.Client(base_url=args.url, headers=headers, timeout=30) as http:
        if args.hold is not None:
            hold(http, args.department, args.worker, visibility=args.hold)
        else:
            consume(http, args.department, args.worker, stop=stop)


if __name__ == "__main__":
    main()
