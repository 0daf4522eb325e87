"""Composition root of the gateway: settings, database, broker, routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import uvicorn
from fastapi import FastAPI

from okr_gateway import __version__, errors, viewer_assets
from okr_gateway.asyncapi import SystemDocument
from okr_gateway.body_limit import BodyLimit
from okr_gateway.bootstrap import bootstrap_admin
from okr_gateway.deps import GatewayState, Services
from okr_gateway.identities import Identities
from okr_gateway.integrations import IntegrationAccess
from okr_gateway.live import LiveHub
from okr_gateway.nats_access import Callout, SystemAccount
from okr_gateway.read_model.feed import ReadModel
from okr_gateway.routes import (
    api_keys,
    asyncapi,
    audit,
    auth,
    check_ins,
    contributions,
    dashboard,
    docs,
    health,
    integrations,
    kpis,
    objective_export,
    objective_import,
    objective_kpis,
    objectives,
    periods,
    progress,
    users,
    webhooks,
)
from okr_gateway.security import PasswordHashing, Tokens
from okr_gateway.settings import GatewaySettings
from okr_gateway.sign_in import SignIn, SignInPolicy
from okr_gateway.telemetry import TracedFastAPI
from okr_shared import pace
from okr_shared.asyncapi import declare_publishes, declare_receives
from okr_shared.contracts import objective_rpc
from okr_shared.contracts.progress import OBJECTIVES_EXPORT, Export
from okr_shared.db import make_engine, make_reader, make_sessionmaker
from okr_shared.heap import freeze_startup_objects
from okr_shared.metrics import MetricsServer
from okr_shared.nats_callout import Issuer
from okr_shared.private_files import secret_file
from okr_shared.runtime import make_broker, ping_router, service_info
from okr_shared.settings import load_settings
from okr_shared.telemetry import configure_telemetry

log = logging.getLogger("okr_gateway")


def create_app(settings: GatewaySettings) -> FastAPI:
    pace.use(settings.pace)
    engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size, application_name="gateway"
    )
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    sessions, readers = make_sessionmaker(engine), make_reader(engine)
    services = Services(
        make_broker(settings.nats_url, "okr-gateway"),
        settings.rpc_timeout_s,
        settings.rpc_large_timeout_s,
        settings.nats_replicas,
    )
    state = GatewayState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        readers=readers,
        services=services,
        identities=Identities(engine, readers),
        read_model=ReadModel(
            lambda: services.broker.connection,
            lambda: services.ask_json(OBJECTIVES_EXPORT, Export()),
        ),
        tokens=Tokens(
            secret or secret_file(settings.data_dir / "jwt-secret"),
            timedelta(minutes=settings.jwt_ttl_minutes),
            settings.jwt_previous_keys,
        ),
        sign_in=SignIn(
            readers,
            sessions,
            PasswordHashing(settings.password_hashing_concurrency),
            SignInPolicy(
                settings.sign_in_free_failures,
                settings.sign_in_free_failures_per_address,
                settings.sign_in_max_lockout_s,
            ),
        ),
    )
    if settings.nats_callout_seed and settings.nats_system_url:
        state.integrations = IntegrationAccess(
            Callout(Issuer(settings.nats_callout_seed.get_secret_value()), state.sessions),
            SystemAccount(settings.nats_system_url.get_secret_value()),
            settings.integrations_nats_url,
        )

    metrics = MetricsServer(settings.metrics_host, settings.metrics_port)
    live = LiveHub(
        lambda: services.broker.connection,
        lambda request: services.ask(objective_rpc.VISIBLE_IDS, request),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Serve /health and a 503 /ready at once; connect in the background until it works.
        state.identities.start()  # listens for user changes, retrying until it can
        starting = asyncio.create_task(_connect(state))
        metrics.start()
        try:
            yield
        finally:
            await asyncio.to_thread(metrics.stop)
            await live.stop()
            await state.read_model.stop()
            await state.identities.stop()
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            await state.services.broker.stop()
            if state.integrations:
                await state.integrations.system.close()
            await engine.dispose()

    app = TracedFastAPI(
        # FastAPI's own OpenTelemetry layer switches itself on once a tracer provider exists,
        # and with its spans per dependency it doubled the gateway's CPU per request. Our
        # middleware (okr_gateway/telemetry.py) makes the one span per request we need.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        title="okr",
        version=__version__,
        summary="OKRs and KPIs with exact, live progress rollup",
        lifespan=lifespan,
        # /docs is served from files the gateway ships (routes/docs.py), never from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    ping_router(service_info("gateway", __version__, settings), metrics_server=metrics).serve_on(
        state.services.broker
    )
    app.state.gateway = state
    app.state.live = live
    declare_publishes(state.services.broker, "gateway", kpis.PUBLISHES)
    app.state.asyncapi = SystemDocument(
        state.services.broker, kpis.PUBLISHES + progress.RECEIVES, settings.rpc_timeout_s
    )
    errors.install(app)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        per_path={
            kpis.BATCH_PATH: settings.max_batch_body_bytes,
            objective_import.PATH: settings.max_import_body_bytes,
        },
    )
    # Objectives first: a request is matched against the routes in order, and theirs are the
    # busiest (route matching was a tenth of the CPU of a GET answered from the read model).
    for module in (
        objective_export,  # before /objectives/{id}, which would take "export" for an id
        objectives,
        objective_kpis,
        check_ins,
        contributions,
        objective_import,
        periods,
        health,
        auth,
        users,
        integrations,
        kpis,
        progress,
        docs,
        asyncapi,
        dashboard,
    ):
        app.include_router(module.router)
    for module in (api_keys, audit):
        app.include_router(module.router)
    app.include_router(webhooks.router)
    app.mount(viewer_assets.ASSETS_PATH, viewer_assets.assets(), name="docs-assets")
    return app


async def _connect(state: GatewayState) -> None:
    await _retry("NATS", state.services.broker.start)
    # Once started: the broker never starts what it is given later (okr_shared.asyncapi).
    declare_receives(state.services.broker, "gateway", progress.RECEIVES)
    if state.settings.read_model:
        state.read_model.start()
    access = state.integrations
    if access:
        # Integrations connect through the callout this gateway answers.
        await access.callout.start(state.services.broker.connection)
        await _retry("NATS's system account", access.system.connect)
    settings = state.settings
    password = settings.admin_password.get_secret_value() if settings.admin_password else None

    async def admin() -> None:
        login = await bootstrap_admin(
            state.sessions,
            settings.admin_username,
            password,
            settings.data_dir,
            state.sign_in.passwords,
        )
        if login.generated_password:
            # Printed once, on the console only (never into the logs), and kept in a 0600 file.
            print(
                f"okr-gateway: created admin {login.username!r}; its password is in "
                f"{login.password_file}",
                file=sys.stderr,
            )

    await _retry("the database", admin)
    state.started = True


async def _retry(what: str, attempt: object) -> None:
    delay = 0.2
    while True:
        try:
            await attempt()  # type: ignore[operator]
            return
        except Exception as err:
            log.warning("%s not reachable (%s); retrying", what, err or type(err).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def run() -> None:
    settings = load_settings(GatewaySettings, "okr-gateway")
    configure_telemetry("gateway", settings)
    try:
        app = create_app(settings)
    except ValueError as err:  # e.g. an unusable jwt-secret file: one line, no traceback
        print(f"okr-gateway: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
            log_config=None,
            # uvicorn trusts X-Forwarded-For from 127.0.0.1 unless told otherwise: anyone on
            # the machine could then choose the address the sign-in throttle counts by.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
        )
    )
    sockets = None
    if settings.share_port:
        try:
            sockets = [shared_socket(settings.host, settings.port)]
        except OSError as err:
            print(
                f"okr-gateway: cannot listen on {settings.host}:{settings.port}: {err}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
    freeze_startup_objects()  # the app, its routes and models: built once, never garbage
    server.run(sockets=sockets)


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other gateway processes of this user may bind too
    (SO_REUSEPORT): `okr up --replicas gateway=2` runs two on one port, and the kernel spreads
    the connections between them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock
