"""A command line with a mistake next to a notification URL: the one error line (exit 2) names
the URL by its scheme only, whichever way click or papertrade quotes what was typed."""

import pytest

from papertrade.domain.notifications import mask_urls
from tests.support.cli import run_inprocess

# URL form, the private parts it holds
URLS = {
    "json://hook:PASSW0RDX@hooks.example.com/services/T0SECRET1/B0SECRET2": ["PASSW0RDX", "T0SECRET1", "B0SECRET2"],
    "ntfys://me:PASSW0RDY@ntfy.example.com/SECRETTOPIC": ["PASSW0RDY", "SECRETTOPIC"],
    "tgram://123456:SECRETTOKEN/987654": ["123456", "SECRETTOKEN", "987654"],
    "discord://111222333/DISCORDTOKEN": ["111222333", "DISCORDTOKEN"],
    "https://discord.com/api/webhooks/444555666/WEBHOOKTOKEN": ["444555666", "WEBHOOKTOKEN"],
    "slack://T0SLACK1/B0SLACK2/XSLACKTOKEN3": ["T0SLACK1", "B0SLACK2", "XSLACKTOKEN3"],
}

# how the mistake is made around URL
SHAPES = [
    (["notify", "1", "--add", "{url}", "--bogus"], "No such option: --bogus"),
    (["notify", "1", "extra", "{url}"], "unexpected extra argument"),  # click echoes extras
    (["notify", "1", "--add", "{url}", "{url}"], "unexpected extra argument"),
    (["status", "{url}"], "a portfolio id is a whole number"),  # click's bad value
    (["notify", "{url}"], "expected a portfolio id"),  # papertrade's own bad value
    (["create-portfolio", "bot", "100", "--fee-rate={url}"], "fee rate must be a number"),
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(("args", "says"), SHAPES, ids=[" ".join(a) for a, _ in SHAPES])
def test_a_usage_error_never_prints_a_notification_urls_secrets(capsys, tmp_path, monkeypatch, url, args, says):
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    result = run_inprocess(capsys, *[a.replace("{url}", url) for a in args])
    assert result.code == 2 and not result.stdout
    assert len(result.error_lines) == 1 and says in result.stderr, result.stderr
    for secret in URLS[url]:
        assert secret not in result.stderr
    assert not (tmp_path / "ledger.db").exists()


def test_the_masked_line_reads_as_before_around_the_url():
    typed = ["notify", "1", "extra", "tgram://1:TOKEN/2"]
    line = mask_urls("Got unexpected extra argument(s) (extra tgram://1:TOKEN/2)", typed)
    assert line == "Got unexpected extra argument(s) (extra tgram://****)"
    assert mask_urls("use json://, xml:// or form://") == "use json://, xml:// or form://"
    assert mask_urls("not 'mailto://me:PW@example.com/x'") == "not 'mailto://****'"
