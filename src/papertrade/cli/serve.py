"""`serve`: the read-only web dashboard and JSON API of the ledger."""

from typing import Annotated

import typer

from papertrade.cli.context import long_running, now_ms, state

#: Shortest token accepted: a guessable token on a network port protects nothing.
MIN_TOKEN = 16


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on; other than loopback only with --token.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).", min=0, max=65535)] = 8000,
    token: Annotated[
        str | None,
        typer.Option(envvar="PAPERTRADE_DASHBOARD_TOKEN", help="Secret every request must present (401 without)."),
    ] = None,
    refresh: Annotated[
        int, typer.Option(metavar="SECONDS", help="Seconds between the pages' own refreshes.", min=2, max=3600)
    ] = 15,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="Without --token: a host name the dashboard also answers to, besides loopback ones (repeatable).",
        ),
    ] = None,
) -> None:
    """Serve a read-only dashboard and JSON API of the ledger (needs `pip install 'papertrade[web]'`).

    Open http://HOST:PORT/ in a browser; with a token, open it once as /?token=TOKEN (a cookie
    keeps it) and send `Authorization: Bearer TOKEN` to the API. The ledger is opened
    read-only: nothing here can change it. Without a token it answers only requests addressed
    to a loopback name or address (or an --allowed-host), 421 otherwise: a web page cannot
    reach it by pointing its own name at 127.0.0.1.
    """
    from papertrade.bootstrap import open_readonly_ledger
    from papertrade.errors import InputError

    _check_exposure(host, token)
    allowed = [host, *(_host_name(name) for name in allowed_host or ())]
    uvicorn, create_app = _web_modules()
    settings = state(ctx).settings()
    ledger = open_readonly_ledger(settings)
    listener = _listen(host, port, InputError)
    app = create_app(ledger, token=token, now=now_ms, refresh_seconds=refresh, allowed_hosts=allowed)
    first, *others = openable_addresses(host, listener.getsockname()[1])
    typer.echo(f"papertrade dashboard of {ledger.name} (read-only) at {first}  (Ctrl-C stops it)")
    if others:
        typer.echo(f"also at {', '.join(others)}")
    long_running()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[listener])
    finally:
        ledger.dispose()


def openable_addresses(host: str, port: int) -> list[str]:
    """The addresses a browser can open for a server listening on `host`: for every interface
    (0.0.0.0, ::) this machine's loopback address, its name and its other addresses, never the
    wildcard itself (which no browser can open)."""
    import socket

    def url(name: str) -> str:
        return f"http://[{name}]:{port}/" if ":" in name else f"http://{name}:{port}/"

    if host.strip("[]") not in ("0.0.0.0", "::"):
        return [url(host.strip("[]"))]
    names = ["127.0.0.1" if host == "0.0.0.0" else "::1", socket.gethostname()]
    try:
        found = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET if host == "0.0.0.0" else 0)
    except OSError:
        found = []  # a name that does not resolve: the loopback address and the name still help
    names += [info[4][0] for info in found if not info[4][0].startswith(("127.", "::1"))]
    return [url(name) for name in dict.fromkeys(names)]


def _check_exposure(host: str, token: str | None) -> None:
    from papertrade.errors import InputError

    if not host.strip():
        raise InputError("--host must name an address to listen on (an empty one would listen on every interface)")
    if token is not None and (len(token) < MIN_TOKEN or not all("!" <= char <= "~" for char in token)):
        raise InputError(
            f"--token must be at least {MIN_TOKEN} visible ASCII characters, no spaces (try: openssl rand -hex 16)"
        )
    if token is None and not is_loopback(host):
        raise InputError(
            f"--host {host} would show the ledger to other machines without a password: give --token "
            "(and put a TLS proxy in front), or keep 127.0.0.1 and reach it through an SSH tunnel"
        )


def _host_name(name: str) -> str:
    """An --allowed-host: a DNS name or an IP address, nothing else."""
    import ipaddress
    import re

    from papertrade.errors import InputError

    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        pass
    label = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    if len(name) > 253 or not re.fullmatch(rf"{label}(\.{label})*\.?", name):
        raise InputError(f"--allowed-host {name!r} is not a host name or IP address")
    return name


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def _web_modules():
    from papertrade.errors import SetupError

    try:
        import uvicorn

        from papertrade.web.app import create_app
    except ModuleNotFoundError as exc:
        raise SetupError(
            f"the dashboard needs the web extra ({exc.name} is missing): pip install 'papertrade[web]'"
        ) from None
    return uvicorn, create_app


def _listen(host: str, port: int, error):
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, reuse_port=False)
    except OSError as exc:
        raise error(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
