"""wrk as a load generator for signed Slack requests (Debian's `wrk` package).

wrk is C with a Lua hook per request: it costs the machine far less than the Python
servers it loads, so what is measured is the server. Requests are signed before the run
(a Lua table of body, timestamp, signature) and sent in turn; the `done` hook prints one
line with the count, the duration and the latency percentiles.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.slack_signing import FORM, signed_headers

_LUA = """
local reqs = {{
{entries}
}}
local i = 0
request = function()
  i = i % #reqs + 1
  local r = reqs[i]
  return wrk.format("POST", nil, {{
    ["Content-Type"] = "{form}",
    ["X-Slack-Request-Timestamp"] = r[2],
    ["X-Slack-Signature"] = r[3],
  }}, r[1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""
_RESULT = re.compile(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)")


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connection errors, timeouts and non-2xx answers


def wrk_missing() -> str | None:
    """Why wrk cannot be used, or None."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install wrk)"
    return None


def write_script(path: Path, bodies: list[str]) -> None:
    entries = []
    for body in bodies:
        headers = signed_headers(body, content_type=FORM)
        ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        entries.append(f'  {{[==[{body}]==], "{ts}", "{sig}"}},')
    path.write_text(_LUA.format(entries="\n".join(entries), form=FORM))


def run_wrk(url: str, script: Path, *, connections: int, seconds: float) -> WrkRun:
    threads = str(min(2, connections))
    command = ["wrk", "-t", threads, "-c", str(connections), "-d", f"{max(1, round(seconds))}s"]
    command += ["--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = _RESULT.search(out)
    if found is None:
        raise RuntimeError(f"wrk printed no result: {out[-500:]}")
    requests, micros, p50, p99, errors = (int(x) for x in found.groups())
    return WrkRun(requests, micros / 1e6, p50 / 1000, p99 / 1000, errors)
