"""Switchboard: phone calls and customer conversations from Slack into Front.

Top-level modules wire and run the app (`server`, `web`, `cli`, `doctor`) or are shared by
every part of a running process (`config`, `runtime`). The packages, lowest first:
`front` and `frontsim` (the Channel API client and its simulator), `core` (what features
share), `delivery` (the outbox to Front), `slack` (Bolt and Slack helpers), `features`
(calls, messages, admin, alerts). Nothing imports a package above its own.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("switchboard")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
