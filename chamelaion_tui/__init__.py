"""A terminal dashboard for watching Chamelaion lip-sync requests.

The package is split into layers that depend on each other one way only:
``api`` (wire contract, downloads, export), ``refresh`` (when to ask what),
``batch`` (progress, ETA, stuck requests, what changed), ``simulator`` (a
local stand-in for the API), ``tui`` (the Textual app), and on top ``config``,
``commands`` (headless list, get, watch) and ``cli`` (entry points).
"""

import logging

__version__ = "0.1.0"

# The package's own log records go where the program that runs it sends them
# (the dashboard's --log-file), and never to stderr by Python's last resort:
# the commands report failures themselves, and the dashboard draws there.
logging.getLogger(__name__).addHandler(logging.NullHandler())
