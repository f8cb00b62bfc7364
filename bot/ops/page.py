"""The status page's HTML: a pure function of what was checked. No JavaScript; every
value goes through `h()` (HTML-escaped) on its way in."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.ops.figures import Figures
from bot.ops.health import DatabaseState
from bot.ops.probes import Probe


def h(value: object) -> str:
    return html.escape(str(value), quote=True)


class FiguresView(StrEnum):
    shown = "shown"
    no_token_set = "no_token_set"  # STATUS_TOKEN is not configured
    locked = "locked"  # configured, not given (or wrong)
    unavailable = "unavailable"  # the database did not answer


@dataclass(frozen=True)
class PageData:
    version: str
    socket_mode: bool
    oauth: bool
    database: DatabaseState
    slack: Probe
    front: Probe
    base_url: str
    from_public_url: bool
    figures: Figures | None
    view: FiguresView
    login_failed: bool = False
    now: datetime | None = None


_CSS = """
body{font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;
 margin:0;background:#f6f7f9;color:#1d1c1d}
main{max-width:860px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px 20px;
 margin:16px 0}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px 4px 0;
 vertical-align:top}th{font-weight:600;color:#555;width:34%}table.grid th{width:auto}
code{background:#f1f2f4;padding:2px 6px;border-radius:4px;font-size:13px;word-break:break-all}
.ok{color:#1a7f37}.bad{color:#c5221f}.muted{color:#666}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;
 background:#eef1f5;margin-left:6px}
.slack-button{display:inline-flex;align-items:center;gap:10px;color:#000;
 background:#fff;border:1px solid #ddd;border-radius:4px;height:44px;padding:0 16px;
 font-size:16px;font-weight:600;text-decoration:none}
form{display:flex;gap:8px;flex-wrap:wrap}input[type=password]{padding:6px 8px;
 border:1px solid #bbb;border-radius:4px;min-width:260px}
button{padding:6px 14px;border-radius:4px;border:1px solid #1d3557;background:#1d3557;
 color:#fff;cursor:pointer}
"""

# Slack's mark, inline so the page loads nothing from elsewhere.
_SLACK_MARK = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" viewBox="0 0 122.8 122.8"'
    ' aria-hidden="true">'
    '<path d="M25.8 77.6a12.9 12.9 0 1 1-12.9-12.9h12.9v12.9zm6.5 0a12.9 12.9 0 1 1 25.8 0'
    'v32.3a12.9 12.9 0 1 1-25.8 0V77.6z" fill="#e01e5a"/>'
    '<path d="M45.2 25.8a12.9 12.9 0 1 1 12.9-12.9v12.9H45.2zm0 6.5a12.9 12.9 0 1 1 0 25.8'
    'H12.9a12.9 12.9 0 1 1 0-25.8h32.3z" fill="#36c5f0"/>'
    '<path d="M97 45.2a12.9 12.9 0 1 1 12.9 12.9H97V45.2zm-6.5 0a12.9 12.9 0 1 1-25.8 0'
    'V12.9a12.9 12.9 0 1 1 25.8 0v32.3z" fill="#2eb67d"/>'
    '<path d="M77.6 97a12.9 12.9 0 1 1-12.9 12.9V97h12.9zm0-6.5a12.9 12.9 0 1 1 0-25.8h32.3'
    'a12.9 12.9 0 1 1 0 25.8H77.6z" fill="#ecb22e"/></svg>'
)


def _mark(ok: bool) -> str:
    return '<span class="ok">● ok</span>' if ok else '<span class="bad">● problem</span>'


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _since(now: datetime | None, then: datetime | None) -> str:
    if now is None or then is None:
        return "never"
    return _ago((now - then).total_seconds())


def _age(seconds: float | None) -> str:
    return "nothing waiting" if seconds is None else _ago(seconds).removesuffix(" ago")


def _database(db: DatabaseState) -> str:
    if not db.reachable:
        state = f'<span class="bad">unreachable ({h(db.error)})</span>'
        return f"<tr><th>Database</th><td>{h(db.dialect)}: {state}</td></tr>"
    behind = len(set(db.heads) - set(db.current))
    migrations = (
        f'<span class="ok">up to date</span> (revision {h(", ".join(db.current))})'
        if not db.pending
        else f'<span class="bad">{behind} pending</span>: at {h(", ".join(db.current) or "none")}'
        f", code at {h(', '.join(db.heads))} (serve applies them on start)"
    )
    return (
        f"<tr><th>Database</th><td>{h(db.dialect)} {_mark(True)}</td></tr>"
        f"<tr><th>Migrations</th><td>{migrations}</td></tr>"
    )


def _urls(data: PageData) -> str:
    base = data.base_url.rstrip("/")
    rows = [("Slack: Request URL (events, commands, interactivity)", base + "/slack/events")]
    if data.oauth:
        rows.append(("Slack: Redirect URL (OAuth & Permissions)", base + "/slack/oauth_redirect"))
    rows.append(("Front: the channel's webhook URL", base + "/front/webhook"))
    source = (
        "from PUBLIC_URL"
        if data.from_public_url
        else "from this request's address; set PUBLIC_URL to the https address Slack reaches"
    )
    body = "".join(f"<tr><th>{h(k)}</th><td><code>{h(v)}</code></td></tr>" for k, v in rows)
    note = (
        "<p class='muted'>Socket Mode: Slack needs no request URL while SLACK_APP_TOKEN is set.</p>"
        if data.socket_mode
        else ""
    )
    return (
        f"<section id='urls'><h2>URLs to paste</h2><p class='muted'>{h(source)}</p>"
        f"<table>{body}</table>{note}</section>"
    )


def _figures(data: PageData) -> str:
    if data.view == FiguresView.no_token_set:
        return (
            "<section id='figures'><h2>Deliveries</h2><p class='muted'>Set STATUS_TOKEN to see "
            "the outbox, paused workspaces and each process's last flush here.</p></section>"
        )
    if data.view == FiguresView.locked:
        failed = '<p class="bad">That token is not right.</p>' if data.login_failed else ""
        return (
            "<section id='figures'><h2>Deliveries</h2>"
            "<p class='muted'>Give the STATUS_TOKEN to see the figures.</p>"
            f"{failed}<form method='post' action='/status/login'>"
            "<input type='password' name='token' aria-label='Status token' "
            "autocomplete='current-password' placeholder='STATUS_TOKEN'>"
            "<button type='submit'>Show figures</button></form></section>"
        )
    if data.view == FiguresView.unavailable or data.figures is None:
        return (
            "<section id='figures'><h2>Deliveries</h2>"
            "<p class='bad'>The database did not answer.</p></section>"
        )
    f = data.figures
    outbox = "".join(
        f"<tr><th>{h(status)}</th><td>{h(n)}</td></tr>" for status, n in f.outbox.items()
    )
    paused = (
        "".join(
            f"<tr><td><code>{h(p.team_id)}</code></td><td>{h(p.why)}</td>"
            f"<td>{h(p.since.strftime('%Y-%m-%d %H:%M UTC'))}</td></tr>"
            for p in f.paused
        )
        or "<tr><td colspan='3' class='muted'>none</td></tr>"
    )
    now = data.now
    procs = (
        "".join(
            f"<tr><td>{h(p.host)}</td><td>{h(p.pid)}</td>"
            f"<td>{h(_since(now, p.last_flush_at))}</td><td>{h(_since(now, p.updated_at))}</td>"
            f"<td>{h(p.delivered)}</td><td>{h(p.failed)}</td></tr>"
            for p in f.processes
        )
        or "<tr><td colspan='6' class='muted'>no delivery process has reported yet</td></tr>"
    )
    return (
        "<section id='figures'><h2>Deliveries</h2>"
        f"<table><tr><th>Oldest still to deliver</th><td>{h(_age(f.oldest_pending_seconds))}"
        f"</td></tr>{outbox}</table>"
        "<h2 style='margin-top:16px'>Paused workspaces</h2>"
        f"<table class='grid'><tr><th>team</th><th>why</th><th>since</th></tr>{paused}</table>"
        "<h2 style='margin-top:16px'>Delivery processes</h2>"
        "<table class='grid'><tr><th>host</th><th>pid</th><th>last flush</th><th>last report</th>"
        f"<th>delivered</th><th>failed</th></tr>{procs}</table>"
        "<form method='post' action='/status/logout' style='margin-top:12px'>"
        "<button type='submit'>Hide figures</button></form></section>"
    )


def render_page(data: PageData) -> str:
    transport = "Socket Mode" if data.socket_mode else "HTTP"
    installs = "OAuth installs (many workspaces)" if data.oauth else "one workspace"
    install = (
        f"<p><a class='slack-button' href='/slack/install'>{_SLACK_MARK}Add to <b>Slack</b></a></p>"
        if data.oauth
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta name='robots' content='noindex'>"
        f"<title>Switchboard status</title><style>{_CSS}</style></head><body><main>"
        f"<h1>Switchboard <span class='badge'>version {h(data.version)}</span></h1>"
        "<p class='muted'>Slack to Front, durably. This page is for whoever runs it.</p>"
        f"<section id='mode'><h2>Mode</h2><table>"
        f"<tr><th>Slack requests arrive over</th><td>{h(transport)}</td></tr>"
        f"<tr><th>Installs</th><td>{h(installs)}</td></tr></table>{install}</section>"
        f"<section id='health'><h2>Health</h2><table>{_database(data.database)}"
        f"<tr><th>Slack</th><td>{_mark(data.slack.ok)} {h(data.slack.detail)}</td></tr>"
        f"<tr><th>Front</th><td>{_mark(data.front.ok)} {h(data.front.detail)}</td></tr>"
        f"</table></section>{_urls(data)}{_figures(data)}</main></body></html>"
    )
