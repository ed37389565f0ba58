"""`papertrade serve`: a read-only dashboard and JSON API over one ledger (FastAPI).

Pages are rendered on the server by Jinja2 (which escapes everything a user named) and refresh
their data sections and chart on their own; the API serves the documents `--json` prints.
Nothing here writes: the ledger is opened read-only (see `papertrade.web.readonly`).
"""

import hashlib
import hmac
import threading
from collections.abc import Callable, Collection
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParameter
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from papertrade import __version__
from papertrade.domain.text import printable
from papertrade.errors import NotFound, PapertradeError, TemporaryError
from papertrade.views.documents import dumps
from papertrade.web import pages, schemas
from papertrade.web.data import DashboardData
from papertrade.web.guards import Admission, Contained, HostCheck

#: A portfolio id as the ledger stores it (an integer column: 32 bits on PostgreSQL); any other is 404.
PortfolioId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
STATIC = Path(str(files("papertrade") / "web" / "static"))
COOKIE = "papertrade_token"
#: No script but our own files, nothing from elsewhere; Plotly styles its elements inline.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(
    ledger,
    *,
    token: str | None,
    now: Callable[[], int],
    refresh_seconds: int = 15,
    allowed_hosts: Collection[str] = (),
    workers: int = 4,
) -> FastAPI:
    """The dashboard over an opened (read-only) ledger; `token`, when given, guards every request.

    Without a token only requests to a loopback address or name, or to one of `allowed_hosts`
    (the addresses it binds, names the user added), are answered. At most `workers` requests
    are worked on at once (see `guards.Admission`).
    """
    data = DashboardData(ledger, now)
    data.warm_up()
    app = FastAPI(
        lifespan=_freshness(data, refresh_seconds),
        title="papertrade",
        version=__version__,
        summary="Read-only dashboard and JSON API of a papertrade ledger.",
        docs_url=None,  # Swagger UI would load its code from a CDN; the schema itself is served
        redoc_url=None,
        openapi_url="/api/openapi.json",
        redirect_slashes=False,  # a redirect only ever goes where `_remember` sends it
    )
    renderer = pages.Renderer(ledger.name, refresh_seconds)
    app.state.ledger_name = ledger.name
    _validators(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)  # outside the validators: they hash what the app wrote
    _guard(app, token)
    app.add_middleware(Admission, workers=workers)
    if token is None:
        app.add_middleware(HostCheck, allowed=allowed_hosts)
    app.add_middleware(Contained)  # added last: the outermost, it sees every failure
    _errors(app)
    _api_routes(app, data)
    _page_routes(app, data, renderer)
    _static_routes(app)
    return app


def _freshness(data: DashboardData, every: float):
    """The app's lifespan: a thread that computes reports and charts ahead of the requests."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        stop = threading.Event()
        worker = threading.Thread(target=data.keep_fresh, args=(stop, every), name="keep-fresh", daemon=True)
        worker.start()
        try:
            yield
        finally:
            stop.set()

    return lifespan


def _guard(app: FastAPI, token: str | None) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next):
        given = _presented_token(request)
        if token is not None and (given is None or not hmac.compare_digest(given.encode(), token.encode())):
            return _unauthorized(request)
        if token is not None and "token" in request.query_params and not request.url.path.startswith("/api/"):
            return _remember(request, token)  # from the link, into a cookie, out of the address bar
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response


def _validators(app: FastAPI) -> None:
    """Give every page and document an `ETag` (a hash of its body; bodies are cached per ledger
    version, so an unchanged ledger costs a hash) and answer `If-None-Match` with it by 304."""

    @app.middleware("http")
    async def validate(request: Request, call_next):
        response = await call_next(request)
        if request.method != "GET" or response.status_code != 200 or request.url.path.startswith("/static/"):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        tag = 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.update({"ETag": tag, "Cache-Control": "no-cache"})  # keep it, but ask each time
        if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers={k: v for k, v in headers.items() if k.lower() != "content-type"})
        return Response(body, response.status_code, headers=headers, media_type=response.media_type)


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token") or request.cookies.get(COOKIE)


def _unauthorized(request: Request) -> Response:
    """401: for the API one line of text; for a page a small form that asks for the token and
    sends it as `?token=` to the same page (which moves it into the cookie)."""
    challenge = {"WWW-Authenticate": 'Bearer realm="papertrade"', **SECURITY_HEADERS}
    if request.url.path.startswith("/api/"):
        message = "401 Unauthorized: this API needs the dashboard's token (Authorization: Bearer TOKEN)\n"
        return PlainTextResponse(message, 401, headers=challenge)
    given = "token" in request.query_params or COOKIE in request.cookies
    return HTMLResponse(pages.token_page(own_path(request.url.path), refused=given), 401, headers=challenge)


def _remember(request: Request, token: str) -> Response:
    """Answer a page opened as `?token=…` with a cookie and a redirect to the same page without it."""
    from urllib.parse import urlencode

    rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    response = RedirectResponse(own_path(request.url.path) + (f"?{urlencode(rest)}" if rest else ""), 303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def own_path(path: str) -> str:
    """`path` (decoded) as a path of this server, quoted for a `Location`: a browser reads a
    Location starting "//" or "/\\" as another site's address."""
    from urllib.parse import quote

    return quote("/" + path.lstrip("/\\"), safe="/")


def _errors(app: FastAPI) -> None:
    from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(PapertradeError)
    async def explain(request: Request, exc: PapertradeError):
        status = 404 if isinstance(exc, NotFound) else 503 if isinstance(exc, TemporaryError) else 500
        return _explained(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def unknown(request: Request, exc: RequestValidationError):
        if any(error["loc"][0] == "path" for error in exc.errors()):
            given = printable(str(request.path_params.get("portfolio_id", "")), 40)
            return _explained(request, 404, f"no portfolio with id {given}")  # not a number, or out of range
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        return _explained(request, 422, "; ".join(_invalid(request, error) for error in exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return _explained(request, exc.status_code, message, getattr(exc, "headers", None))


def _invalid(request: Request, error: dict) -> str:
    """One refused query value, as a reader would say it: `page=0: must be 1 or more`."""
    name = str(error["loc"][-1])
    given = printable(request.query_params.get(name, ""), 40)
    wanted = error["msg"].replace("Input should be greater than or equal to", "must be at least")
    return f"{name}={given}: {wanted}" if given else f"{name}: {wanted}"


def _explained(request: Request, status: int, message: str, headers=None) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status, headers=headers)
    return HTMLResponse(pages.error_page(status, message, request.app.state.ledger_name), status, headers=headers)


def _json(document) -> Response:
    return Response(dumps(document), media_type="application/json")


def _ok(model) -> dict:
    return {200: {"model": model}, 404: {"description": "no such portfolio, or nothing to report yet"}}


def _api_routes(app: FastAPI, data: DashboardData) -> None:
    ok = _ok
    _dashboard_routes(app, data)

    @app.get("/api/overview", responses=ok(schemas.Overview), tags=["dashboard"])
    def overview(archived: bool = False) -> Response:
        """Every portfolio: equity, return, drawdown, and whether each symbol's cron still runs
        (archived ones too with `?archived=true`)."""
        return _json(data.overview(archived))

    @app.get("/api/portfolios", responses=ok(list[schemas.Portfolio]), tags=["cli documents"])
    def portfolios(archived: bool = False) -> Response:
        """What `papertrade portfolios --json` prints (`?archived=true`: `portfolios --archived --json`)."""
        return _json(data.portfolios(archived))

    @app.get("/api/portfolios/{portfolio_id}", responses=ok(schemas.Status), tags=["cli documents"])
    def status(portfolio_id: PortfolioId) -> Response:
        """What `papertrade status ID --json` prints."""
        return _json(data.status(portfolio_id))

    @app.get("/api/portfolios/{portfolio_id}/report", responses=ok(schemas.Report), tags=["cli documents"])
    def report(portfolio_id: PortfolioId) -> Response:
        """What `papertrade report ID --json` prints."""
        return _json(data.report(portfolio_id))

    @app.get("/api/portfolios/{portfolio_id}/trades", responses=ok(list[schemas.Trade]), tags=["cli documents"])
    def trades(portfolio_id: PortfolioId) -> Response:
        """What `papertrade trades ID --json` prints."""
        return _json(data.trades(portfolio_id))

    @app.get("/api/portfolios/{portfolio_id}/orders", responses=ok(list[schemas.Order]), tags=["cli documents"])
    def orders(portfolio_id: PortfolioId) -> Response:
        """What `papertrade orders ID --json` prints: the resting orders."""
        return _json(data.orders(portfolio_id))


def _dashboard_routes(app: FastAPI, data: DashboardData) -> None:
    @app.get("/api/portfolios/{portfolio_id}/journal", responses=_ok(schemas.Journal), tags=["dashboard"])
    def journal(portfolio_id: PortfolioId, page: int = Query(1, ge=1)) -> Response:
        """The tick journal, newest first, 50 processed candles a page."""
        found = data.journal(portfolio_id, page)
        return _json({"ticks": found.ticks, "page": found.page, "pages": found.pages, "total": found.total})

    @app.get("/api/portfolios/{portfolio_id}/chart", tags=["dashboard"])
    def chart(portfolio_id: PortfolioId) -> Response:
        """The portfolio's chart as a Plotly figure (null before its first processed candle)."""
        return Response(data.chart_json(portfolio_id), media_type="application/json")

    @app.get("/api/portfolios/{portfolio_id}/candles", tags=["dashboard"])
    def candles(
        portfolio_id: PortfolioId,
        symbol: str = Query(..., min_length=1, max_length=50),
        start: int = Query(..., alias="from", ge=0, le=2**62),
        end: int = Query(..., alias="to", ge=0, le=2**62),
    ) -> Response:
        """A symbol's stored candles from `from` to `to` (ms), as a zoomed price panel redraws
        them: real candles when at most 1,500 fit, merged ones otherwise (`note` says which)."""
        return _json(data.zoomed_candles(portfolio_id, symbol, start, end))

    @app.get("/api/portfolios/{portfolio_id}/drift-chart", tags=["dashboard"])
    def drift_chart(portfolio_id: PortfolioId) -> Response:
        """The paper equity beside its backtest's (`report --vs-backtest`) as a Plotly figure
        (null when there is nothing to compare)."""
        return Response(data.drift_chart_json(portfolio_id), media_type="application/json")


def _page_routes(app: FastAPI, data: DashboardData, renderer: "pages.Renderer") -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(archived: bool = False) -> HTMLResponse:
        return HTMLResponse(renderer.overview(data.overview(archived), archived))

    @app.get("/portfolios/{portfolio_id}", response_class=HTMLResponse, include_in_schema=False)
    def portfolio_page(portfolio_id: PortfolioId, page: int = Query(1, ge=1)) -> HTMLResponse:
        report = _report_or_none(data, portfolio_id)
        row = data.headline(data.status(portfolio_id), report)
        journal = data.journal(portfolio_id, page)
        trades, orders = data.trades(portfolio_id), data.orders(portfolio_id)
        return HTMLResponse(renderer.portfolio(row, report, trades, journal, orders))


def _report_or_none(data: DashboardData, portfolio_id: PortfolioId) -> dict | None:
    try:
        return data.report(portfolio_id)
    except NotFound:
        return None  # no candle processed yet: the page says so


def _static_routes(app: FastAPI) -> None:
    def plotly_js() -> Path:
        import plotly

        return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

    cached = {"Cache-Control": "public, max-age=86400"}

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_script() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript", headers=cached)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        known = {p.name: p for p in STATIC.iterdir()}
        if name not in known:
            return PlainTextResponse("not found", 404)
        return FileResponse(known[name], headers=cached)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml", headers=cached)
