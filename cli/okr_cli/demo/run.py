"""`okr demo` from end to end: find the running system (as `okr status` would) or start one as
`okr up` does, create the company, play the HR system under a live view, and stop cleanly on
Ctrl-C or SIGTERM, stopping only what the demo itself started."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import nats
import nats.errors
from faststream.nats import NatsBroker
from rich.console import Console
from rich.live import Live

from okr_cli import probe
from okr_cli.config import CliSettings
from okr_cli.demo import practice
from okr_cli.demo.build import (
    Builder,
    Built,
    admin_key,
    create_users,
    keyed,
    until_rollup_knows_it,
)
from okr_cli.demo.company import Company, plan
from okr_cli.demo.play import Board, Player, feeds, summary
from okr_cli.demo.view import TreeView
from okr_cli.services import SERVICES
from okr_cli.supervisor import (
    AlreadyRunning,
    StartFailed,
    System,
    read_run_info,
    replicas_from,
)
from okr_cli.ui import nats_url
from okr_shared import subjects
from okr_shared.contracts.common import Role
from okr_shared.embedded import EmbeddedServerError
from okr_shared.private_files import ADMIN_PASSWORD_FILE, redact_url, write_private
from okr_shared.runtime import make_broker

READY_TIMEOUT_S = 60.0
CATCH_UP_TIMEOUT_S = 120.0
SETTLE_S = 3.0  # how long a stop waits for the rollups of the last values
NATS_CONNECT_TIMEOUT_S = 10.0  # the services' broker retries for ever: the demo does not
T = TypeVar("T")


class DemoFailed(RuntimeError):
    """The demo cannot go on: the message says why, in one line a user can act on."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived."""


@contextlib.contextmanager
def unreachable_fails_the_demo(what: str, where: str) -> Iterator[None]:
    """A gateway or NATS that stops answering while the demo is `what` (it was answering a
    moment ago) ends the demo with one line, not a traceback."""
    try:
        yield
    except (httpx.HTTPError, nats.errors.Error, OSError, TimeoutError) as err:
        raise DemoFailed(
            f"{what}: {where} did not answer ({err or type(err).__name__}); is the system "
            f"still running? See `./okr status`"
        ) from None


@dataclass(frozen=True)
class Options:
    size: int
    rate: float
    duration: float | None  # None: until Ctrl-C


@dataclass(frozen=True)
class Target:
    gateway_url: str
    nats_url: str  # the services' user: requests, and watching the rollups
    hr_nats_url: str  # the HR user: publishing values


async def run(settings: CliSettings, options: Options, console: Console) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    target = await find_running(settings)
    system = None if target else System(settings, replicas_from(settings))
    watcher: asyncio.Task[None] | None = None
    demo: Demo | None = None
    try:
        if system is not None:
            with console.status("no system answers: starting one as `okr up` does"):
                target = await start(system, stop)
            watcher = asyncio.create_task(_watch(system, console))
        assert target is not None
        console.print(f"{'started' if system else 'using'} the system at {target.gateway_url}")
        demo = Demo(settings, options, target, console, stop)
        await demo.run()
    except Interrupted:
        console.print("stopped before the HR system began publishing")
    finally:
        if watcher is not None:
            watcher.cancel()
        if system is not None:
            with console.status("stopping the system the demo started"):
                await asyncio.to_thread(system.stop)
    if target is not None:
        _explore(target, system, demo, console)


def _explore(target: Target, system: System | None, demo: Demo | None, console: Console) -> None:
    """Where to look at the data now."""
    if system is not None:
        console.print(
            f"The system is stopped; its data stays in {system.data}. `./okr up` (with the same "
            f"OKR_* settings) brings it back, with the dashboard at {target.gateway_url}/"
        )
    else:
        console.print(f"The system is still running: the dashboard is at {target.gateway_url}/")
    if demo is None or demo.credentials is None:
        return
    company, password, path = demo.credentials
    console.print(f"Sign in as a demo user with the password {password} (every one is in {path}):")
    for role in Role:
        person = next((p for p in company.people if p.role is role), None)
        if person is not None:
            where = f", {person.department}" if person.department else ""
            console.print(f"  {person.username:<28} {role.value}{where}")


async def find_running(settings: CliSettings) -> Target | None:
    """The system at the configured gateway and NATS, if it answers."""
    gateway = read_run_info(settings.data_path).get("gateway_url") or (
        f"http://{settings.gateway_host}:{settings.gateway_port}"
    )
    ready, _ = await probe.gateway_ready(gateway)
    if not ready:
        return None
    services = nats_url(settings, hr=False)
    try:
        answered = {info.service for info in await probe.ping_all(services)}
    except Exception as err:
        raise DemoFailed(
            f"a gateway answers at {gateway} but NATS at {redact_url(services)} does not "
            f"({err or type(err).__name__}); see `./okr status`"
        ) from None
    missing = sorted({s.name for s in SERVICES} - answered)
    if missing:
        raise DemoFailed(f"a system answers at {gateway} without {', '.join(missing)}")
    return Target(gateway, services, nats_url(settings, hr=True))


async def start(system: System, stop: asyncio.Event) -> Target:
    """As `okr up` starts: each step runs to its end (a half-started server is harder to stop
    cleanly than a started one), and a stop asked for meanwhile is honoured between steps."""

    def check() -> None:
        system.check_started()
        if stop.is_set():
            raise Interrupted

    try:
        endpoints = await asyncio.to_thread(system.start_servers)
        check()
        await asyncio.to_thread(system.migrate, endpoints)
        check()
        system.start_services(endpoints)
        names = {s.name for s in SERVICES}
        await probe.wait_until_ready(
            system.gateway_url, endpoints.nats_url, names, READY_TIMEOUT_S, check
        )
    except (AlreadyRunning, EmbeddedServerError, StartFailed) as err:
        raise DemoFailed(str(err)) from None
    except TimeoutError as err:
        raise DemoFailed(
            f"the services were {err}; see the logs in {system.data / 'logs'}"
        ) from None
    return Target(system.gateway_url, endpoints.nats_url, endpoints.hr_nats_url)


async def _watch(system: System, console: Console) -> None:
    """What `okr up` does while it runs: bring back whatever died."""
    while True:
        await asyncio.sleep(0.5)
        system.watch(lambda line: console.print(f"[yellow]{line}[/yellow]"))


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T:
    """The result of `work`, or Interrupted (with `work` cancelled) when a stop comes first."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise Interrupted


@dataclass
class Demo:
    settings: CliSettings
    options: Options
    target: Target
    console: Console
    stop: asyncio.Event
    credentials: tuple[Company, str, Path] | None = None

    async def run(self) -> None:
        suffix = secrets.token_hex(2)
        year = datetime.now(UTC).year
        built = Built(plan(self.options.size, suffix, year))
        password = secrets.token_urlsafe(12)
        broker = make_broker(self.target.nats_url, "okr-demo")
        async with httpx.AsyncClient(base_url=self.target.gateway_url, timeout=30) as http:
            gateway = f"the gateway at {http.base_url}"
            with unreachable_fails_the_demo("signing in", gateway):
                admin_password = await self._sign_in(http)
            with self.console.status(f"creating {len(built.company.people)} users"):
                await until_stopped(
                    create_users(http, built.company.people, password, built), self.stop
                )
            self._keep_credentials(built.company, password)
            try:
                where = f"NATS at {redact_url(self.target.nats_url)}"
                with unreachable_fails_the_demo("connecting", where):
                    connecting = asyncio.wait_for(broker.connect(), NATS_CONNECT_TIMEOUT_S)
                    await until_stopped(connecting, self.stop)
                board = Board(set())
                await broker.connection.subscribe(subjects.PROGRESS_UPDATES, cb=board.on_update)
                with unreachable_fails_the_demo("making an API key", gateway):
                    key = await admin_key(http, admin_password, built.company.suffix)
                async with keyed(http, key) as writer:
                    await self._build(writer, broker, built, board, year)
                    await self._practice(writer, built, year)
                await self._play(built, board)
            finally:
                await broker.stop()

    async def _sign_in(self, http: httpx.AsyncClient) -> str:
        """Sign `http` in as the admin, whose password is OKR_ADMIN_PASSWORD or the file the
        first start wrote, and answer that password. A gateway that has just started may still
        be creating the admin, so a missing file or a refused sign-in are retried for a
        while."""
        username = self.settings.admin_username
        path = self.settings.data_path / ADMIN_PASSWORD_FILE
        deadline = time.monotonic() + 30
        while True:
            password = self._admin_password(path)
            if password is not None:
                response = await http.post(
                    "/api/v1/auth/login", data={"username": username, "password": password}
                )
                if response.status_code == 200:
                    http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
                    return password
            if time.monotonic() > deadline:
                raise DemoFailed(
                    f"the demo signs in as {username} to create its users, and could not: set "
                    f"OKR_ADMIN_PASSWORD to that user's password"
                    + ("" if password else f" (there is no {path})")
                )
            await asyncio.sleep(0.3)

    def _admin_password(self, path: Path) -> str | None:
        if self.settings.admin_password:
            return self.settings.admin_password.get_secret_value()
        try:
            return path.read_text().strip()
        except OSError:
            return None

    def _keep_credentials(self, company: Company, password: str) -> None:
        lines = [f"{p.username}\t{p.role.value}\t{p.department or '-'}" for p in company.people]
        path = self.settings.data_path / f"demo-{company.suffix}-users"
        write_private(path, f"# password of every user below: {password}\n" + "\n".join(lines))
        self.credentials = (company, password, path)

    async def _build(
        self, http: httpx.AsyncClient, broker: NatsBroker, built: Built, board: Board, year: int
    ) -> None:
        company = built.company
        total = len(company.kpis) + 1  # the KPIs, then one import of the objectives
        done = 0

        def one_more() -> None:
            nonlocal done
            done += 1

        started = time.perf_counter()
        status = self.console.status("")
        with status:
            builder = Builder(http, built, year, one_more)
            building = asyncio.ensure_future(until_stopped(builder.build(), self.stop))
            while not building.done():
                status.update(f"creating {company.name}: {done:,} of {total:,} requests")
                await asyncio.wait({building}, timeout=0.25)
            board.objectives.update(built.objectives.values())
            building.result()
            status.update("waiting for the progress service to learn the tree")
            await until_stopped(until_rollup_knows_it(broker, CATCH_UP_TIMEOUT_S), self.stop)
        self.console.print(
            f"created {company.name}: {len(built.objectives):,} objectives, {len(built.kpis):,} "
            f"KPIs, {built.links:,} links, {len(built.users)} users in "
            f"{time.perf_counter() - started:.1f} s"
        )

    async def _practice(self, http: httpx.AsyncClient, built: Built, year: int) -> None:
        """Check-ins, and last year reviewed and graded: what a team does every week and at
        the end of every period."""
        builder = Builder(http, built, year, lambda: None)
        with self.console.status("checking in, and grading last year"):
            made = await until_stopped(practice.check_in(builder, built), self.stop)
            review = await until_stopped(practice.review_last_year(builder, built, year), self.stop)
        self.console.print(f"checked in on the {made} division objectives")
        if not review.graded:
            self.console.print(f"{review.year} was closed already: its grades are in the periods")
            return
        averages = ", ".join(
            f"{level} {grade:.2f}" for level, grade in review.average_grade.items() if grade
        )
        self.console.print(
            f"closed {review.year}: {review.graded} objectives graded (average {averages}); "
            f"see them under Periods in the dashboard, or GET /api/v1/periods"
        )

    async def _play(self, built: Built, board: Board) -> None:
        where = f"NATS at {redact_url(self.target.hr_nats_url)}"
        with unreachable_fails_the_demo("connecting as the HR system", where):
            hr = await nats.connect(
                self.target.hr_nats_url,
                connect_timeout=3,
                max_reconnect_attempts=3,
                error_cb=probe.quiet,  # the failure is reported in one line above
            )
        player = Player(
            hr.jetstream(), feeds(built), board, self.options.rate, built.company.suffix
        )
        view = TreeView(built, board)
        until = (
            None if self.options.duration is None else time.perf_counter() + self.options.duration
        )
        board.started = time.perf_counter()
        board.rollups = 0  # from here on, the rollups the values cause
        status = "playing the HR system: Ctrl-C stops"

        def keep_going() -> bool:
            return not self.stop.is_set() and (until is None or time.perf_counter() < until)

        try:
            with Live(
                get_renderable=lambda: view.render(status),
                console=self.console,
                refresh_per_second=4,
            ):
                await player.play(keep_going)
                published_s = time.perf_counter() - board.started
                status = "stopped publishing; waiting for the last rollups"
                await player.settle(SETTLE_S)
                status = "done"
        finally:
            await hr.close()
        self.console.print()  # a pipe gets the last frame without a line end
        self.console.print(summary(built, board, published_s), soft_wrap=True)
