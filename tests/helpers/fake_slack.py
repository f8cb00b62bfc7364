"""A fake Slack Web API: a real HTTP server on loopback that records what the bot calls.

Point the bot's `SLACK_API_URL` (or a WebClient's `base_url`) at `FakeSlack.api_url`.
Answers are plausible defaults per method; tests can override one with `respond`.
Files registered with `add_file` are served at `url_private_download` and require the
bot token, as Slack does. `response_url` posts land at `/respond/<id>`. Uploads go as
Slack's do now: `files.getUploadURLExternal` gives a URL on this server, the bytes are
POSTed there, `files.completeUploadExternal` shares them (`uploaded()` lists them).
Messages added with `add_message` are what `conversations.history` and
`conversations.replies` answer.

Faults, changeable while running: `slow(method, seconds)` delays a method's answers;
`fail(method, *faults)` answers its next calls with HTTP errors (a 5xx, or a 429 with
`Retry-After`), `fail_always(method, fault)` until `recover(method)`; `error_rate` (with
`seed`) answers that share of every Web API call with a 500. A call is recorded when it
arrives, as Slack acts on it then: one cut short by its client still counts.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from bot.slack.oauth import BOT_SCOPES

BOT_TOKEN = "xoxb-test-token"

Responder = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]
    token: str | None
    # The HTTP status answered (set once decided) and whether Slack said `ok`.
    status: int = 0
    ok: bool = False
    # The answer has been written back (after any latency).
    answered: bool = False


@dataclass(frozen=True)
class Fault:
    """An HTTP error answer: `Fault(500)`, or `Fault(429, retry_after=30)`."""

    status: int
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    def body(self) -> dict[str, Any]:
        error = "ratelimited" if self.status == 429 else "internal_error"
        return {"ok": False, "error": error}


@dataclass
class FakeSlack:
    base_url: str = ""
    calls: list[SlackCall] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    overrides: dict[str, Responder] = field(default_factory=dict)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: set[str] = field(default_factory=lambda: {BOT_TOKEN})
    # What auth.test says was granted (its x-oauth-scopes header): the manifest's scopes.
    granted_scopes: list[str] = field(default_factory=lambda: list(BOT_SCOPES))
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Upload URLs given, by file id: filename, announced length, and the bytes received.
    upload_slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # Faults (see the module's docstring).
    latency: dict[str, float] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    down: dict[str, Fault] = field(default_factory=dict)
    error_rate: float = 0.0
    _rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    def respond(self, method: str, responder: Responder) -> None:
        self.overrides[method] = responder

    def slow(self, method: str, seconds: float) -> None:
        """Answer `method` after `seconds` (0 to stop)."""
        with self.lock:
            self.latency[method] = seconds

    def fail(self, method: str, *faults: Fault) -> None:
        """Answer the next calls of `method` with these faults, one each, in order."""
        with self.lock:
            self.faults.setdefault(method, []).extend(faults)

    def fail_always(self, method: str, fault: Fault) -> None:
        """Answer every call of `method` with `fault` until `recover(method)`."""
        with self.lock:
            self.down[method] = fault

    def recover(self, method: str | None = None) -> None:
        """`method` (every method when None) answers normally again."""
        with self.lock:
            for table in (self.faults, self.down):
                for name in [method] if method else list(table):
                    table.pop(name, None)

    def set_error_rate(self, rate: float, seed: int = 0) -> None:
        """Answer this share of every Web API call with a 500 (reproducible with `seed`)."""
        with self.lock:
            self.error_rate, self._rng = rate, random.Random(seed)

    def _fault_for(self, method: str) -> Fault | None:
        with self.lock:
            queued = self.faults.get(method)
            if queued:
                return queued.pop(0)
            if method in self.down:
                return self.down[method]
            if self.error_rate and self._rng.random() < self.error_rate:
                return Fault(500)
            return None

    def succeeded(self, method: str) -> list[dict[str, Any]]:
        """Arguments of the calls of `method` that Slack answered `ok`."""
        with self.lock:
            return [c.args for c in self.calls if c.method == method and c.ok]

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        email: str | None = None,
        team_id: str = "T1",
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": team_id,
            "name": name.lower().replace(" ", "."),
            "real_name": name,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_bot": is_bot,
            "profile": {"real_name": name, "display_name": name, "email": email},
        }

    def add_file(
        self, file_id: str, name: str, data: bytes, mimetype: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Register a file and return its Slack file object (as in message `files`)."""
        self.files[file_id] = (mimetype, data)
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(data),
            "url_private": f"{self.base_url}/files/{file_id}",
            "url_private_download": f"{self.base_url}/files/{file_id}",
        }

    def add_message(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        """A message Slack holds in `channel` (a root, or a reply with `thread_ts`)."""
        with self.lock:
            self.messages.setdefault(channel, []).append(message)
        return message

    def uploaded(self) -> list[dict[str, Any]]:
        """Files shared with files.completeUploadExternal: where, with what bytes."""
        out: list[dict[str, Any]] = []
        for call in self.called("files.completeUploadExternal"):
            for f in json.loads(call["files"]):
                slot = self.upload_slots.get(f["id"], {})
                out.append(
                    {
                        "id": f["id"],
                        "title": f.get("title"),
                        "filename": slot.get("filename"),
                        "data": slot.get("data"),
                        "channel_id": call.get("channel_id"),
                        "thread_ts": call.get("thread_ts"),
                        "initial_comment": call.get("initial_comment"),
                    }
                )
        return out

    def _history(self, args: dict[str, Any], *, replies: bool) -> dict[str, Any]:
        with self.lock:
            held = list(self.messages.get(str(args.get("channel")), []))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 1e12)
        if replies:
            asked = next((m for m in held if m["ts"] == args.get("ts")), None)
            if asked is None:
                return {"ok": False, "error": "thread_not_found"}
            root = asked.get("thread_ts") or asked["ts"]
            parent = [m for m in held if m["ts"] == root]
            rest = [m for m in held if m.get("thread_ts") == root and m["ts"] != root]
            found = parent + [m for m in rest if oldest <= float(m["ts"]) <= latest]
        else:
            found = [
                m
                for m in held
                if m.get("thread_ts") in (None, m["ts"]) and oldest <= float(m["ts"]) <= latest
            ]
            found.reverse()  # newest first, as Slack answers
        return {"ok": True, "messages": found, "has_more": False}

    def called(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c.args for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until `method` was called `count` times (listeners run after the ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.called(method)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        raise AssertionError(f"{method} called {len(self.called(method))} times, wanted {count}")

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in self.overrides:
            return self.overrides[method](args)
        if method == "oauth.v2.access":
            # An install: the workspace's new bot token is good from now on.
            team = f"T{args.get('code', 'X')}"
            token = f"xoxb-installed-{team}"
            self.tokens.add(token)
            return {
                "ok": True,
                "app_id": "A1",
                "access_token": token,
                "token_type": "bot",
                "scope": "commands,chat:write",
                "bot_user_id": "UBOT",
                "team": {"id": team, "name": "Installed"},
                "enterprise": None,
                "is_enterprise_install": False,
                "authed_user": {"id": "UINSTALLER"},
            }
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "switchboard",
                "team_id": "T1",
                "user_id": "UBOT",
                "bot_id": "B1",
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or self.next_ts()
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts},
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "permalink": f"https://acme.slack.com/archives/{args.get('channel')}"
                f"/p{str(args.get('message_ts', '')).replace('.', '')}",
            }
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            view = args.get("view") or {}
            ident = self.next_ts().replace(".", "")
            view_id = args.get("view_id") or f"V{ident}"
            return {"ok": True, "view": {"id": view_id, "hash": f"h{ident}", **view}}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            for user in self.users.values():
                if user["profile"].get("email") == args.get("email"):
                    return {"ok": True, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method in ("reactions.add", "reactions.remove"):
            return {"ok": True}
        if method == "files.getUploadURLExternal":
            file_id = "F" + self.next_ts().replace(".", "")
            with self.lock:
                self.upload_slots[file_id] = {
                    "filename": args.get("filename"),
                    "length": int(args.get("length") or 0),
                    "data": None,
                }
            return {
                "ok": True,
                "upload_url": f"{self.base_url}/upload/{file_id}",
                "file_id": file_id,
            }
        if method == "files.completeUploadExternal":
            files = json.loads(args.get("files") or "[]")
            if any(f.get("id") not in self.upload_slots for f in files):
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "conversations.history":
            return self._history(args, replies=False)
        if method == "conversations.replies":
            return self._history(args, replies=True)
        if method == "conversations.info":
            return {"ok": True, "channel": {"id": args.get("channel"), "name": "support"}}
        return {"ok": True}


def _parse_args(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    args: dict[str, Any] = {k: v[0] for k, v in parse_qs(urlparse(handler.path).query).items()}
    ctype = handler.headers.get("Content-Type", "")
    if body and "json" in ctype:
        args.update(json.loads(body))
    elif body:
        args.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
    for key in ("blocks", "view", "attachments"):
        value = args.get(key)
        if isinstance(value, str) and value[:1] in "[{":
            args[key] = json.loads(value)
    return args


@contextmanager
def running_fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(
            self,
            status: int,
            body: bytes,
            ctype: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlparse(self.path).path
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            if path.startswith("/files/"):
                file_id = path.removeprefix("/files/")
                if token not in fake.tokens or file_id not in fake.files:
                    self._reply(404 if token in fake.tokens else 403, b"no", "text/plain")
                    return
                mimetype, data = fake.files[file_id]
                self._reply(200, data, mimetype)
                return
            if path.startswith("/upload/"):
                slot = fake.upload_slots.get(path.removeprefix("/upload/"))
                if slot is None:
                    self._reply(404, b"no such upload", "text/plain")
                    return
                with fake.lock:
                    slot["data"] = body
                self._reply(200, b"OK - " + str(len(body)).encode(), "text/plain")
                return
            if path.startswith("/respond/"):
                with fake.lock:
                    fake.responses.append((path, json.loads(body or b"{}")))
                self._reply(200, b"ok", "text/plain")
                return
            method = path.removeprefix("/api/")
            args = _parse_args(self, body)
            token = token or args.get("token")
            call = SlackCall(method, args, token)
            with fake.lock:
                fake.calls.append(call)
            fault = fake._fault_for(method)
            status = 200
            extra: dict[str, str] = {}
            if fault is not None:
                status, answer, extra = fault.status, fault.body(), fault.headers()
            elif token not in fake.tokens and method not in ("oauth.v2.access", "api.test"):
                answer = {"ok": False, "error": "invalid_auth"}
            else:
                answer = fake.answer(method, args)
            if status == 200 and answer.get("ok"):
                extra = {"x-oauth-scopes": ",".join(fake.granted_scopes)}
            with fake.lock:
                call.status, call.ok = status, status == 200 and bool(answer.get("ok"))
                delay = fake.latency.get(method, 0.0)
            if delay:
                time.sleep(delay)
            self._reply(status, json.dumps(answer).encode(), headers=extra)
            call.answered = True

        do_GET = _handle
        do_POST = _handle

    class Server(ThreadingHTTPServer):
        # The default backlog (5) resets connections when the app's poster, a test's own
        # poster and the listeners call at once.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-slack", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
