"""The gateway restarted in the benchmark's system: how long its read model takes to warm up
over the objectives, and what it holds in memory, against a gateway without one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from okr_cli.supervisor import Child, System

READ_MODEL_ENV = "OKR_GATEWAY_READ_MODEL"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class GatewayRestart:
    def __init__(self, system: System, pids: dict[str, int]) -> None:
        self.system, self.pids = system, pids
        self.child: Child = next(c for c in system.children if c.instance.startswith("gateway"))

    async def measure(self, objectives: int) -> dict[str, float]:
        """Restart it without a read model (the baseline memory), then with one: the seconds
        from the start until the model is warm, and the model's MB per 100,000 objectives."""
        baseline = await self._restart(read_model=False)
        started = time.perf_counter()
        with_model = await self._restart(read_model=True)
        return {
            "read_model_warm_s": time.perf_counter() - started,
            "read_model_mb_per_100k": (with_model - baseline) / objectives * 100_000,
        }

    async def _restart(self, *, read_model: bool) -> float:
        """The gateway's RSS once it is ready (and, with a model, warm)."""
        process = self.child.process
        if process is not None:
            process.terminate()
            await asyncio.to_thread(process.wait, 30)
        self.child.env[READ_MODEL_ENV] = "true" if read_model else "false"
        self.child.start()
        assert self.child.process is not None
        self.pids[self.child.instance] = self.child.process.pid
        wanted = "warm" if read_model else "warming"
        async with httpx.AsyncClient(base_url=self.system.gateway_url, timeout=5) as http:
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline:
                try:
                    ready = await http.get("/ready")
                    if ready.status_code == 200 and ready.json()["read_model"] == wanted:
                        return _rss_mb(self.child.process.pid)
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.02)
        raise TimeoutError("the restarted gateway was not ready within 120 s")
