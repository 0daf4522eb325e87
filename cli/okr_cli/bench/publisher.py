"""An HR system in a process of its own, for the benchmark: publish values as fast as JetStream
takes them (a window of acknowledgements in flight), single or in batch messages.

    python -m okr_cli.bench.publisher NATS_URL single|batch COUNT KPI_ID[,KPI_ID...]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import nats

from okr_shared import subjects

WINDOW = 1000  # acknowledgements in flight
BATCH = 1000  # values per batch message


async def publish(nats_url: str, mode: str, count: int, kpi_ids: list[int]) -> tuple[float, float]:
    """(when the first publish started, on the wall clock; how long publishing took)."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    started_at = time.time()
    started = time.perf_counter()
    if mode == "single":
        for start in range(0, count, WINDOW):
            await asyncio.gather(
                *(
                    js.publish(
                        subjects.kpi_value_subject(kpi_ids[n % len(kpi_ids)]),
                        json.dumps({"value": n % 1000}).encode(),
                        headers={"Nats-Msg-Id": f"s{n}"},
                    )
                    for n in range(start, min(start + WINDOW, count))
                )
            )
    else:
        for start in range(0, count, BATCH * 10):
            await asyncio.gather(
                *(
                    js.publish(
                        subjects.KPI_VALUE_BATCH,
                        json.dumps(
                            {
                                "values": [
                                    {
                                        "kpi_id": kpi_ids[n % len(kpi_ids)],
                                        "value": n % 1000,
                                        "idempotency_key": f"b{n}",
                                    }
                                    for n in range(first, min(first + BATCH, count))
                                ]
                            }
                        ).encode(),
                        headers={"Nats-Msg-Id": f"batch{first}"},
                    )
                    for first in range(start, min(start + BATCH * 10, count), BATCH)
                )
            )
    elapsed = time.perf_counter() - started
    await client.close()
    return started_at, elapsed


def main() -> None:
    url, mode, count, ids = sys.argv[1:5]
    started_at, elapsed = asyncio.run(
        publish(url, mode, int(count), [int(i) for i in ids.split(",")])
    )
    print(json.dumps({"started_at": started_at, "published_s": elapsed}))


if __name__ == "__main__":
    main()
