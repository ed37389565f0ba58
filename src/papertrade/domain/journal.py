"""The audit journal's hash chain: each entry's hash covers the one before it, so an entry that
is edited, removed or reordered breaks the chain from there on."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from papertrade.domain.money import to_plain

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    tick_id: int | None
    event: str
    payload: dict[str, Any]
    body: str  # the payload exactly as stored, which the hash covers
    prev_hash: str
    hash: str
    recorded_ts: int


def canonical_json(value: Any) -> str:
    """Deterministic JSON with decimals as plain strings (journal payloads, settings)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_encode)


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return to_plain(value)
    raise TypeError(f"cannot encode {type(value).__name__} in the ledger")


def entry_hash(prev_hash: str, event: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{event}\n{body}".encode()).hexdigest()


def chain_problems(entries: list[JournalEntry]) -> list[str]:
    """Every place where the chain of `entries` (oldest first) is broken."""
    problems, previous = [], GENESIS_HASH
    for entry in entries:
        if entry.prev_hash != previous:
            problems.append(f"journal entry {entry.id} does not follow the entry before it")
        if entry.hash != entry_hash(entry.prev_hash, entry.event, entry.body):
            problems.append(f"journal entry {entry.id} was altered (its hash does not match)")
        previous = entry.hash
    return problems
