"""The Litestar application factory: a tiny ``create_app`` wiring controllers, the guard,
problem details and OpenAPI. No work happens at import time; ``app_from_env`` is the factory
uvicorn calls (``regenzet serve``)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from regenzet.entrypoints.http.customers import CustomerController
from regenzet.entrypoints.http.inspections import InspectionController
from regenzet.entrypoints.http.problems import add_request_id, problem_handler
from regenzet.entrypoints.http.repair_orders import RepairOrderController
from regenzet.entrypoints.http.routing import (
    HttpServices,
    provide_principal,
    provide_writes,
)
from regenzet.entrypoints.http.staff import StaffController
from regenzet.entrypoints.http.system import SystemController, health, ready
from regenzet.entrypoints.http.vehicles import VehicleController

API_VERSION = "1.0.0"
# Bodies are small JSON documents; anything bigger is refused before it is read (413).
MAX_REQUEST_BODY = 256 * 1024


def create_app(services: HttpServices, *, cors_origins: tuple[str, ...] = ()) -> Litestar:
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
            VehicleController,
            RepairOrderController,
            InspectionController,
            SystemController,
        ],
        guards=[guard],
        security=[{"bearer": []}],
    )

    def provide_services() -> HttpServices:
        return services

    return Litestar(
        route_handlers=[api, health, ready],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "writes": Provide(provide_writes, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers={Exception: problem_handler},
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
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(), JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        cors_config=CORSConfig(allow_origins=list(cors_origins)) if cors_origins else None,
        request_max_body_size=MAX_REQUEST_BODY,
        logging_config=None,
        debug=False,
    )


def app_from_env() -> Litestar:
    """Builds the app from the environment (uvicorn's ``--factory`` entry)."""
    from regenzet.entrypoints.container import http_app_from_settings
    from regenzet.entrypoints.settings import Settings

    return http_app_from_settings(Settings.from_env())
