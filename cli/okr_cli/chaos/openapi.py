"""Requests generated from the gateway's own OpenAPI document (Schemathesis), sent with a valid
admin token to a system holding a small world: no answer may be a 5xx."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from okr_cli.chaos import harness
from okr_cli.chaos.verdict import Verdict

NAME = "openapi-fuzzed"
# The operations that give a webhook endpoint its URL are left out: a generated (or the
# documented example's) URL may name a host outside this machine, and the system would then
# send it events. Their validation is tested in tests/integration/test_webhooks.py.
NOT_FUZZED = (
    "create_endpoint_api_v1_webhooks_post",
    "update_endpoint_api_v1_webhooks__endpoint_id__patch",
)


async def run(quick: bool) -> Verdict:
    verdict = Verdict(NAME, requests=0)  # it sends requests, not values
    async with harness.started() as chaos:
        await chaos.build_world()
        with tempfile.TemporaryDirectory() as tmp:
            report_path = Path(tmp) / "report.json"
            phases = ["--phases", "fuzzing", "-n", "10"] if quick else ["-n", "20"]
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{chaos.system.gateway_url}/openapi.json",
                "--header",
                f"Authorization: {chaos.http.headers['Authorization']}",
                "--checks",
                "not_a_server_error",
                *(arg for op in NOT_FUZZED for arg in ("--exclude-operation-id", op)),
                # Signing out or changing the admin's password would end the token every later
                # request is sent with: the rest of the run would test nothing but the 401.
                "--exclude-path",
                "/api/v1/auth/logout",
                "--exclude-path",
                "/api/v1/auth/password",
                *phases,
                "--seed",
                "1",
                "--generation-database",
                "none",
                "--suppress-health-check",
                "all",
                "--no-color",
                "--report",
                "json",
                "--report-json-path",
                str(report_path),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await process.communicate()
            if not report_path.exists():
                tail = output.decode(errors="replace")[-2000:]
                verdict.notes.append(f"FAILED: schemathesis wrote no report: {tail}")
                return verdict
            report = json.loads(report_path.read_text())
    read_report(verdict, report, process.returncode)
    return verdict


def read_report(verdict: Verdict, report: dict[str, Any], returncode: int | None) -> None:
    """Fill in the verdict from Schemathesis 4's JSON report (`--report json`): `test_cases`
    counts the requests, `operations` is null when the schema never loaded, and each of
    `failures` names the `operations` it was found in."""
    cases = report["test_cases"]
    operations = report.get("operations") or {}
    verdict.requests = int(cases["generated"])
    verdict.notes.append(
        f"{cases['generated']:,} requests from the OpenAPI document over "
        f"{operations.get('tested', 0)} operations; {cases['with_failures']} got a 5xx"
    )
    if not operations.get("tested"):
        verdict.notes.append("FAILED: no operation of the OpenAPI document was tested")
    failures = [
        f"{', '.join(f.get('operations') or ['?'])}: {f.get('title', f)}"
        for f in report["failures"]
    ]
    if cases["with_failures"] or failures or report["errors"] or returncode:
        shown = failures[:5] or report["errors"][:5] or f"schemathesis exited {returncode}"
        verdict.notes.append(f"FAILED: {shown}")
