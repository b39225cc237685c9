"""Serves the built web app (``web/dist``) from the API's own origin.

Vite writes content-hashed files under ``assets/``: they never change, so they are cached for a
year (``immutable``). ``index.html`` names the current hashes, so it is ``no-cache`` (the
browser revalidates it on every visit and picks up a new release at once). Any other path that
is not the API's falls back to ``index.html``: the app's router handles deep links such as
``/repair-orders/ID`` or the emailed ``/portal/repair-orders/ID/quote?token=…``.

Every HTML response carries a strict Content-Security-Policy: scripts and styles only from this
origin (no inline script, no CDN), API calls to this origin and, when Cognito is configured, to
its domain; no framing. ``/config.json`` tells the app how users sign in (the same file is
written next to the static files when they are hosted on Amplify).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import File
from litestar.static_files import create_static_files_router

# Paths that belong to the API (or its docs) never fall back to the app: a typo there is a 404.
API_PATHS = ("api/", "schema", "health", "ready", "auth/")
NO_CACHE = "no-cache"


@attrs.frozen
class WebConfig:
    """What the browser app needs to know at start-up (``/config.json``)."""

    # "local": the demo sign-in page; "oidc": Cognito's hosted sign-in (authorization code + PKCE).
    auth: str
    oidc_authority: str | None = None
    oidc_client_id: str | None = None
    oidc_scope: str = "openid email profile"
    # Origins the browser uploads media to and loads them from (the S3 bucket's; empty when the
    # API serves media itself).
    media_origins: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"auth": self.auth}
        if self.auth == "oidc":
            data["oidc"] = {
                "authority": self.oidc_authority,
                "client_id": self.oidc_client_id,
                "scope": self.oidc_scope,
            }
        return data

    def connect_sources(self) -> tuple[str, ...]:
        """Origins the app may call besides its own: the identity provider's."""
        if self.auth != "oidc" or not self.oidc_authority:
            return ()
        from urllib.parse import urlsplit

        parts = urlsplit(self.oidc_authority)
        sources = [f"{parts.scheme}://{parts.netloc}"]
        if (parts.hostname or "").endswith(".amazonaws.com"):
            # Cognito's discovery document lives on cognito-idp; its token endpoint on the
            # user pool's hosted domain.
            sources.append("https://*.amazoncognito.com")
        return tuple(sources)


def content_security_policy(connect: Sequence[str] = (), media: Sequence[str] = ()) -> str:
    """The app's CSP: nothing inline, nothing from elsewhere but the identity provider
    (``connect``) and the media store (``media``: uploads, images and videos), no framing."""
    connect_src = " ".join(("'self'", *connect, *media))
    img_src = " ".join(("'self'", "data:", "blob:", *media))
    media_src = " ".join(("'self'", "blob:", *media))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {img_src}",
            "font-src 'self'",
            f"connect-src {connect_src}",
            f"media-src {media_src}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def spa_handlers(dist: Path, config: WebConfig) -> list[BaseRouteHandler | Any]:
    """Route handlers serving the built app in ``dist`` (or a page saying how to build it)."""
    index = dist / "index.html"
    csp = content_security_policy(config.connect_sources(), config.media_origins)
    html_headers = {"Cache-Control": NO_CACHE, **_security_headers(csp)}

    @get("/config.json", include_in_schema=False, sync_to_thread=False)
    def web_config() -> Response[dict[str, Any]]:
        return Response(config.as_json(), headers={"Cache-Control": NO_CACHE})

    def root_file(name: str) -> File | None:
        """A file at the top of dist (favicon.svg, robots.txt) other than index.html."""
        if "/" in name or name.startswith(".") or name == "index.html":
            return None
        candidate = dist / name
        if not candidate.is_file():
            return None
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return File(
            candidate,
            filename=name,
            media_type=media_type,
            content_disposition_type="inline",
            headers={"Cache-Control": "public, max-age=3600", **_security_headers(csp)},
        )

    @get(["/", "/{path:path}"], include_in_schema=False, sync_to_thread=False)
    def app_page(path: FromPath[str] = "") -> File | Response[str]:
        relative = path.lstrip("/")
        if relative.startswith(API_PATHS):
            raise NotFoundException(f"no route {'/' + relative}")
        found = root_file(relative)
        if found is not None:
            return found
        if relative.startswith("assets/"):
            # A missing hashed asset must not turn into HTML (the browser would run it as JS).
            raise NotFoundException(f"no asset {'/' + relative}")
        if not index.is_file():
            return Response(
                _NOT_BUILT,
                media_type="text/html",
                status_code=503,
                headers={**html_headers, "Retry-After": "10"},
            )
        return File(
            index,
            filename="index.html",
            media_type="text/html",  # File adds the charset itself
            content_disposition_type="inline",
            headers=html_headers,
        )

    assets = create_static_files_router(
        path="/assets",
        directories=[dist / "assets"],
        include_in_schema=False,
        # Hashed names: a new build writes new files, so a cached one is never stale.
        cache_control=CacheControlHeader(public=True, max_age=31536000, immutable=True),
        send_as_attachment=False,
        name="web-assets",
        after_request=_nosniff,
    )
    return [web_config, app_page, assets]


def _nosniff(response: Any) -> Any:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>ReGenZet: web app not built</title></head><body>
<h1>The web app is not built yet</h1>
<p>Run <code>scripts/run</code> (it builds <code>web/</code> when its sources change), or
<code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code>, then reload.</p>
<p>The API itself is up: <a href="/schema">/schema</a>.</p></body></html>"""
