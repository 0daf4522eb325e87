"""What an HR system does, from the command line: publish one value, import a CSV of them, and
read back the values the KPIs service refused."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nats
from pydantic import ValidationError
from rich.progress import Progress

from okr_shared import subjects
from okr_shared.contracts.kpis import KpiBatchIn, KpiBatchItem, KpiValueIn


@dataclass(frozen=True)
class Published:
    subject: str
    key: str
    stream_seq: int
    duplicate: bool


async def publish_value(nats_url: str, kpi_id: int, body: KpiValueIn, key: str) -> Published:
    client = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
    try:
        subject = subjects.kpi_value_subject(kpi_id)
        ack = await client.jetstream().publish(
            subject, body.model_dump_json(exclude_none=True).encode(), headers={"Nats-Msg-Id": key}
        )
    finally:
        await client.close()
    return Published(subject, key, ack.seq, bool(ack.duplicate))


@dataclass
class ImportSummary:
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    messages: int = 0


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV with the columns kpi_id, value and, optionally, observed_at."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"kpi_id", "value"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path}: the header must name kpi_id and value (missing {sorted(missing)})"
            )
        for row in reader:
            yield reader.line_num, row


def parse_row(line: int, row: dict[str, str], file_key: str) -> KpiBatchItem:
    """One row as a value; its idempotency key is the file's content hash and the line number,
    so importing the same file twice stores nothing twice."""
    observed = (row.get("observed_at") or "").strip()
    return KpiBatchItem.model_validate(
        {
            "kpi_id": (row.get("kpi_id") or "").strip(),
            "value": float((row.get("value") or "").strip()),
            "observed_at": datetime.fromisoformat(observed) if observed else None,
            "idempotency_key": f"{file_key}:{line}",
            "source": "okr import-values",
        }
    )


def file_key(path: Path) -> str:
    return "csv-" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]


async def import_values(
    nats_url: str, path: Path, batch_size: int, key: str, total: int
) -> ImportSummary:
    summary = ImportSummary()
    client = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
    try:
        js = client.jetstream()
        pending: list[KpiBatchItem] = []

        async def flush() -> None:
            if pending:
                body = KpiBatchIn(values=pending).model_dump_json(exclude_none=True).encode()
                message_key = f"{key}:batch:{summary.messages}"
                await js.publish(
                    subjects.KPI_VALUE_BATCH, body, headers={"Nats-Msg-Id": message_key}
                )
                summary.accepted += len(pending)
                summary.messages += 1
                pending.clear()

        with Progress(transient=True) as progress:
            task = progress.add_task(f"importing {path.name}", total=total)
            for line, row in read_rows(path):
                try:
                    pending.append(parse_row(line, row, key))
                except (ValidationError, ValueError) as err:
                    summary.rejected.append((line, _reason(err)))
                if len(pending) >= batch_size:
                    await flush()
                progress.advance(task)
            await flush()
    finally:
        await client.close()
    return summary


def _reason(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
    return str(err)


def payload_preview(payload: str, width: int = 60) -> str:
    text = payload if len(payload) <= width else payload[: width - 1] + "…"
    try:
        return json.dumps(json.loads(payload))[:width]
    except ValueError:
        return text
