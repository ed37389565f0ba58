"""Sending notifications through Apprise: one URL format for Telegram, Discord, e-mail, webhooks.

URLs carry secrets, so nothing here ever puts one in an error message: errors name the scheme
only, and what Apprise reports is stripped of every piece of the URL before it is kept.
Apprise is imported only when a URL is checked or a message sent.
"""

import re
import threading
import time
from collections.abc import Sequence

from papertrade.domain.notifications import Message, mask_url_paths
from papertrade.errors import InputError

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31})://")
MAX_URL_LENGTH = 4096
OUT_OF_TIME = "not sent: out of time"


def check_url(url: str) -> str:
    """Validate an Apprise URL; its redacted form for display. InputError names the scheme only."""
    scheme = _scheme(url)
    _check_port(url, scheme)
    import apprise

    known = scheme.lower() in apprise.NotificationManager()
    web = scheme.lower() in ("http", "https")  # a service's own webhook address, as Apprise takes it
    plugin = apprise.Apprise.instantiate(url, asset=_asset()) if known or web else None
    if plugin is None and web:
        raise InputError(
            f"{scheme}:// is accepted only as a service's own webhook address (e.g. "
            "https://discord.com/api/webhooks/ID/TOKEN); for a plain web hook use json://, xml:// or form://"
        )
    if not known and plugin is None:
        raise InputError(f"unknown notification service {scheme!r}: see https://appriseit.com for the URL formats")
    if plugin is None:
        raise InputError(f"malformed {scheme}:// URL (check it with: apprise -vv -b test 'URL')")
    return _redacted(plugin)


def _scheme(url: str) -> str:
    if not url or len(url) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InputError("a notification URL must be one non-empty word of at most 4096 characters")
    match = _SCHEME.match(url)
    if match is None:
        raise InputError("not a notification URL: expected SERVICE://..., e.g. tgram://BOT_TOKEN/CHAT_ID")
    return match.group(1)


def _check_port(url: str, scheme: str) -> None:
    """A port written in the URL's address (`host:PORT`) must be one a connection can use, 1 to
    65535; text after a colon that is not a number (a Telegram bot token) is left to Apprise."""
    address = url[len(scheme) + 3 :].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if address.startswith("["):
        address = address.partition("]")[2]  # an IPv6 address holds colons of its own
    port = address.rpartition(":")[2] if ":" in address else ""
    if re.fullmatch(r"[+-]?\d+", port) and not (port.isdigit() and 0 < int(port) < 65536):
        raise InputError(f"impossible port {port!r} in a {scheme}:// URL: a port is 1 to 65535")


def _redacted(plugin) -> str:
    """Apprise's privacy form of the URL (tokens shortened to their ends, passwords starred),
    without the query string, where some services carry secrets too; and the path secrets
    Apprise leaves readable masked (`notifications.mask_url_paths`)."""
    return mask_url_paths(plugin.url(privacy=True))


def _asset():
    import apprise

    return apprise.AppriseAsset(storage_mode="memory")  # Apprise keeps nothing on disk


def scrub(text: str, url: str) -> str:
    """`text` without any piece of `url` long enough to be a secret."""
    for piece in sorted(set(re.split(r"[/:@?&=#]+", url)), key=len, reverse=True):
        if len(piece) >= 6:
            text = text.replace(piece, "***")
    return " ".join(text.split())


class AppriseSender:
    """Delivers messages, one thread per URL, within a total time budget."""

    def max_body(self, url: str) -> int:
        import apprise

        plugin = apprise.Apprise.instantiate(url, asset=_asset())
        return int(getattr(plugin, "body_maxlen", 0) or 0) or 32768

    def send(self, jobs: Sequence[tuple[str, Sequence[Message]]], budget: float) -> list[list[str | None]]:
        """Send each job's messages in order, to its URL; for every message None when the
        service accepted it, else why not. Returns within about `budget` seconds."""
        deadline = time.monotonic() + budget
        results: list[list[str | None]] = [[OUT_OF_TIME] * len(messages) for _, messages in jobs]
        threads = [
            threading.Thread(target=_send_job, args=(url, messages, deadline, results[i]), daemon=True)
            for i, (url, messages) in enumerate(jobs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [list(outcome) for outcome in results]


def _send_job(url: str, messages: Sequence[Message], deadline: float, outcome: list[str | None]) -> None:
    import apprise

    for index, message in enumerate(messages):
        left = deadline - time.monotonic()
        if left <= 0.05:
            return
        try:
            plugin = apprise.Apprise.instantiate(url, asset=_asset())
            plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, left / 2)
            plugin.socket_read_timeout = min(plugin.socket_read_timeout, left / 2)
            sender = apprise.Apprise(asset=_asset())
            sender.add(plugin)
            result = sender.notify(
                message.body, title=message.title, notify_type=message.level, body_format="text", timeout=left
            )
            outcome[index] = None if result else scrub(_why(result), url)
        except Exception as exc:  # a plugin's own bug must not end the tick
            outcome[index] = scrub(f"{type(exc).__name__}: {exc}", url)
        if outcome[index] is not None:  # keep the order: what follows waits for the next attempt
            outcome[index + 1 :] = ["not sent: an earlier message failed"] * (len(messages) - index - 1)
            return


def _why(result) -> str:
    for service in result.results:
        for entry in service.logs():
            if entry.level in ("WARNING", "ERROR", "CRITICAL"):
                return entry.message
    return f"the service did not accept it ({result.status.name.lower()})"
