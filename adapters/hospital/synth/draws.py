"""Small random draws shared by the generators: digit strings, durations, practitioner codes."""

from __future__ import annotations

import random
from datetime import timedelta


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def practitioner(rng: random.Random) -> str:
    """A practising-certificate number, as MA_BAC_SI is coded (QD130.md section B XML2 32)."""
    return f"{digits(rng, 6)}/BYT-CCHN"
