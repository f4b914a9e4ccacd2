"""A terminal dashboard for watching Chamelaion lip-sync requests.

The package is split into layers that depend on each other one way only:
``api`` (wire contract), ``refresh`` (when to ask what), ``simulator`` (a local
stand-in for the API), ``tui`` (the Textual app) and ``cli`` (entry points).
"""

__version__ = "0.1.0"
