"""The Litestar application factory: a tiny ``create_app`` wiring controllers, the guard,
problem details and OpenAPI. No work happens at import time; the bootstrap composes the app
(``regenzet serve``, and ``regenzet.entrypoints.asgi:app_from_env`` for uvicorn)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import msgspec
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIType,
    Parameter,
    Schema,
    SecurityScheme,
)
from litestar.plugins import OpenAPISchemaPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from regenzet.entrypoints.http.audit import AuditController
from regenzet.entrypoints.http.chat import ChatController, document_event_stream
from regenzet.entrypoints.http.customers import CustomerController
from regenzet.entrypoints.http.inspections import InspectionController
from regenzet.entrypoints.http.lists import ListController
from regenzet.entrypoints.http.media_files import media_files_router
from regenzet.entrypoints.http.policy import POLICY, describe_access
from regenzet.entrypoints.http.problems import (
    MAX_REQUEST_BODY,
    add_request_id,
    problem_handler,
    refuse_null_query_values,
)
from regenzet.entrypoints.http.quote_approval import (
    APPROVAL_TOKEN_HEADER,
    QuoteApprovalController,
    link_guard,
)
from regenzet.entrypoints.http.read_models import ReadModelController
from regenzet.entrypoints.http.repair_orders import RepairOrderController
from regenzet.entrypoints.http.routing import (
    HttpServices,
    provide_principal,
    provide_writes,
)
from regenzet.entrypoints.http.schemas import (
    DECIMAL_PATTERN,
    Body,
    decode_canonical_decimal,
    is_canonical_decimal_type,
)
from regenzet.entrypoints.http.staff import StaffController
from regenzet.entrypoints.http.system import SystemController, health, ready
from regenzet.entrypoints.http.vehicles import VehicleController

logger = logging.getLogger("regenzet.http")

API_VERSION = "1.0.0"
# Swagger UI's scripts and styles, served from the installed swagger-ui-bundle package so the
# docs pages work offline (no CDN).
DOCS_ASSETS = "/schema/assets"
DOCS_FAVICON = f"{DOCS_ASSETS}/favicon-32x32.png"


def create_app(
    services: HttpServices,
    *,
    cors_origins: tuple[str, ...] = (),
    extra_routes: Sequence[Any] = (),
    on_startup: Sequence[Callable[[], None]] = (),
    on_shutdown: Sequence[Callable[[], None]] = (),
) -> Litestar:
    gatekeeper = services.gatekeeper

    # Litestar deep-copies route handlers and their guards when registering them; a plain
    # function is copied by reference, so the rate limiter's state stays shared.
    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        gatekeeper(connection, handler)

    api = Router(
        path="/",
        route_handlers=[
            CustomerController,
            StaffController,
            AuditController,
            VehicleController,
            RepairOrderController,
            InspectionController,
            SystemController,
            ReadModelController,
            ListController,
            ChatController,
        ],
        guards=[guard],
        security=[{"bearer": []}],
    )

    # The emailed quote link's routes: the link's token, not a bearer token, is the credential.
    links = Router(
        path="/",
        route_handlers=[QuoteApprovalController],
        guards=[link_guard(gatekeeper)],
        security=[{"approvalToken": []}],
    )

    # The local media backend's upload and download: the ticket's or link's HMAC signature
    # is the credential (as S3's policy is), not a bearer token.
    signed = (
        [media_files_router(services.media_files, gatekeeper)]
        if services.media_files is not None
        else []
    )

    def provide_services() -> HttpServices:
        return services

    app = Litestar(
        # Outside the guarded API: the local sign-in and the web app (spa.py), when mounted.
        route_handlers=[
            api,
            links,
            *signed,
            health,
            ready,
            create_static_files_router(
                path=DOCS_ASSETS, directories=[swagger_ui_path], include_in_schema=False
            ),
            *extra_routes,
        ],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "writes": Provide(provide_writes, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers={Exception: problem_handler},
        type_decoders=[(is_canonical_decimal_type, decode_canonical_decimal)],
        plugins=[CanonicalDecimalSchema()],
        before_request=refuse_null_query_values,
        before_send=[add_request_id],
        openapi_config=OpenAPIConfig(
            title="ReGenZet API",
            version=API_VERSION,
            description=(
                "Service management for EV repair garages. Bearer JWTs (local: "
                "`regenzet auth token`); writes accept Idempotency-Key and If-Match; errors "
                "are RFC 9457 problem details."
            ),
            path="/schema",
            # Swagger UI first: it is also the page at /schema itself.
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                    css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                    standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
                    favicon=f"<link rel='icon' type='image/png' href='{DOCS_FAVICON}'>",
                ),
                JsonRenderPlugin(),
            ],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "approvalToken": SecurityScheme(
                        type="apiKey",
                        name=APPROVAL_TOKEN_HEADER,
                        security_scheme_in="header",
                        description="The token of an emailed quote-approval link",
                    ),
                }
            ),
        ),
        cors_config=CORSConfig(allow_origins=list(cors_origins)) if cors_origins else None,
        request_max_body_size=MAX_REQUEST_BODY,
        logging_config=None,
        debug=False,
        lifespan=[partial(_purge_expired_keys, services)],
        on_startup=list(on_startup),
        on_shutdown=list(on_shutdown),
    )
    _tidy_openapi(app)
    document_event_stream(app.openapi_schema)
    return app


class CanonicalDecimalSchema(OpenAPISchemaPlugin):
    """Publishes every decimal field as the string pattern the type decoder enforces."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return is_canonical_decimal_type(value)

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.STRING, pattern=DECIMAL_PATTERN)


# Expired idempotency records are already ignored by claims; purging keeps the table small.
PURGE_INTERVAL_SECONDS = 15 * 60


@asynccontextmanager
async def _purge_expired_keys(services: HttpServices, app: Litestar) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                purged = await anyio.to_thread.run_sync(
                    lambda: services.idempotency.purge_expired(now=services.clock.now())
                )
                if purged:
                    logger.info("purged %d expired idempotency keys", purged)
                turns = services.chat_turns
                if turns is not None:  # assistant turns past their retention period
                    purged = await anyio.to_thread.run_sync(turns.purge_expired)
                    if purged:
                        logger.info("purged %d assistant turns past retention", purged)
            except Exception:
                # The store may be briefly unreachable; requests report that themselves.
                logger.warning("could not purge expired idempotency keys", exc_info=True)
            await anyio.sleep(PURGE_INTERVAL_SECONDS)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(loop)
        yield
        tasks.cancel_scope.cancel()


def _tidy_openapi(app: Litestar) -> None:
    """Makes the OpenAPI document say exactly what the server enforces.

    Litestar leaves three gaps, filled here once when the app is built: request structs refuse
    unknown fields (``additionalProperties: false``); constraints of optional values belong to
    the non-null branch of their ``oneOf``; and a header or query parameter is a value or
    absent, never null. Each operation's description names the roles that may call it and its
    object-level rule, generated from the policy table.
    """
    openapi = app.openapi_schema
    closed = {cls.__name__: cls for cls in _subclasses(Body)}
    for name, component in (openapi.components.schemas or {}).items():
        if not isinstance(component, Schema):
            continue
        if name in closed:
            component.additional_properties = False
            _constrain_list_items(component, closed[name])
        for prop in (component.properties or {}).values():
            if isinstance(prop, Schema):
                _constrain_non_null_branch(prop)
    for path, path_item in (openapi.paths or {}).items():
        for operation in (path_item.get, path_item.post, path_item.put, path_item.delete):
            if operation is not None and operation.operation_id in POLICY:
                access = describe_access(operation.operation_id, _PATH_PARAMETER.findall(path))
                operation.description = "\n\n".join(filter(None, [operation.description, access]))
            for parameter in (operation.parameters or []) if operation else []:
                if not isinstance(parameter, Parameter):
                    continue
                schema = parameter.schema
                # A header or query parameter is a string or absent, never null.
                if parameter.param_in in ("header", "query") and isinstance(schema, Schema):
                    _constrain_non_null_branch(schema)
                    branch = _non_null_branch(schema)
                    if branch is not None:
                        parameter.schema = branch


def _constrain_list_items(component: Schema, struct: type) -> None:
    """Litestar drops the bounds of a list's string items (``list[Annotated[str, Meta(...)]]``)
    that msgspec enforces; copy them from msgspec's own view of the struct."""
    info_of_struct = msgspec.inspect.type_info(struct)
    if not isinstance(info_of_struct, msgspec.inspect.StructType):
        return
    for field in info_of_struct.fields:
        info = field.type
        while isinstance(info, msgspec.inspect.Metadata):
            info = info.type
        prop = (component.properties or {}).get(field.encode_name)
        if not isinstance(info, msgspec.inspect.ListType) or not isinstance(prop, Schema):
            continue
        _copy_item_bounds(prop, info)


def _copy_item_bounds(prop: Schema, info: msgspec.inspect.ListType) -> None:
    """The bounds of a list's items as msgspec enforces them: strings' lengths and patterns,
    numbers' ranges, and nested lists' lengths (a markup's ``[[x, y], ...]`` points)."""
    item = info.item_type
    while isinstance(item, msgspec.inspect.Metadata):
        item = item.type
    if not isinstance(prop.items, Schema):
        return
    if isinstance(item, msgspec.inspect.StrType):
        prop.items.min_length = item.min_length
        prop.items.max_length = item.max_length
        prop.items.pattern = item.pattern
    elif isinstance(item, msgspec.inspect.FloatType | msgspec.inspect.IntType):
        prop.items.minimum = item.ge
        prop.items.maximum = item.le
    elif isinstance(item, msgspec.inspect.ListType):
        prop.items.min_items = item.min_length
        prop.items.max_items = item.max_length
        _copy_item_bounds(prop.items, item)


_PATH_PARAMETER = re.compile(r"\{([a-z_]+)")

_CONSTRAINTS = (
    "pattern",
    "min_length",
    "max_length",
    "minimum",
    "maximum",
    "exclusive_minimum",
    "exclusive_maximum",
)


def _non_null_branch(schema: Schema) -> Schema | None:
    branches = schema.one_of or []
    kinds = [b for b in branches if isinstance(b, Schema) and b.type != OpenAPIType.NULL]
    has_null = any(isinstance(b, Schema) and b.type == OpenAPIType.NULL for b in branches)
    return kinds[0] if has_null and len(kinds) == 1 else None


def _constrain_non_null_branch(schema: Schema) -> None:
    branch = _non_null_branch(schema)
    if branch is None:
        return
    for attr in _CONSTRAINTS:
        value = getattr(schema, attr)
        if value is not None:
            setattr(branch, attr, value)
            setattr(schema, attr, None)


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        found += [sub, *_subclasses(sub)]
    return found
