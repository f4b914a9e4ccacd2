"""Fault injection: rules that make the simulator misbehave on purpose.

A `Faults` object is held by the server and consulted on every authenticated,
well-formed API request (`list` is the listing route, `get` the one-job
route; the output files and the redirect target never misbehave). Each rule
names a kind of misbehaviour and applies to the next N matching requests, or
until cleared.

Text form, as given on the command line::

    spec    = rule *("," rule)
    rule    = kind ["=" value] *(":" option)
    option  = "count=" N       the next N matching requests (N >= 1); without
                               it the rule holds until cleared
            | "path=" ROUTE    "list", "get" or "any" (the default)
            | "start=" S       inactive until S simulated seconds after the
                               world started
            | "duration=" D    active for D simulated seconds, then removed

Kinds and their values:

    status=CODE         answer CODE (400-599): 5xx with an HTML page as a
                        proxy would send, 4xx with a JSON error
    rate_limit[=V]      429; V is whole seconds for Retry-After (default 1),
                        "date" for an HTTP date 5 s ahead, "none" for no header
    malformed           200 with a body that is not valid JSON
    garbage             200 with valid JSON of the wrong shape
    duplicate           list only: a page holding the same id twice
    total_drift[=N]     list only: pagination.total off by N more on each hit
                        (default 5; may be negative)
    unknown_status[=S]  one job reported with status S (default "archived")
    hostile             reference_id and error_message holding markup,
                        terminal escapes, control and bidi characters, very
                        long text
    odd_timestamps      timestamps with fractions, offsets, no zone, nulls,
                        and finished_at before started_at
    delay=SECONDS       wait before answering; combines with the others
    drop                close the connection without any response
    redirect[=CODE]     CODE (default 302) to the same path on a second
                        loopback origin, to see whether the key follows

Examples: ``status=503:count=3``, ``rate_limit=5:count=1``,
``rate_limit=date:count=1``, ``malformed:count=2``, ``drop:count=1``,
``delay=3:count=1``, ``hostile``, ``status=502:path=list:start=30:duration=20``.

When several rules match one request: every matching `delay` applies, then
the first matching rule (in the order added) that replaces the answer
(status, rate_limit, malformed, garbage, drop, redirect); only when there is
none do all matching rules that alter the body apply (duplicate, total_drift,
unknown_status, hostile, odd_timestamps). Only rules that apply use up their
count.

A scenario file is JSON: a list of rules, or an object whose "faults" key
holds one. Each rule is an object with "kind" and optionally "value", "path",
"count", "start" and "duration", with the meanings above::

    {"faults": [
        {"kind": "status", "value": 503, "path": "list", "start": 30,
         "duration": 20},
        {"kind": "rate_limit", "value": "date", "count": 1, "start": 90}
    ]}
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple, cast, get_args

FaultKind = Literal[
    "status",
    "rate_limit",
    "malformed",
    "garbage",
    "duplicate",
    "total_drift",
    "unknown_status",
    "hostile",
    "odd_timestamps",
    "delay",
    "drop",
    "redirect",
]
"""Every kind of misbehaviour the simulator can be asked for."""

FaultPath = Literal["list", "get", "any"]
"""Which API route a rule applies to."""

Route = Literal["list", "get"]
"""The API route of the request being answered."""

FaultValue = int | float | str | None
"""A rule's parameter, already checked and converted for its kind."""

KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
"""All fault kinds, in the order they are documented."""

REPLACING: frozenset[FaultKind] = frozenset(
    {"status", "rate_limit", "malformed", "garbage", "drop", "redirect"}
)
"""Kinds that replace the whole answer; at most one applies per request."""

BODY: frozenset[FaultKind] = frozenset(
    {"duplicate", "total_drift", "unknown_status", "hostile", "odd_timestamps"}
)
"""Kinds that alter a successful JSON body; several may apply together."""

LIST_ONLY: frozenset[FaultKind] = frozenset({"duplicate", "total_drift"})
"""Kinds that only make sense for a page of jobs."""

_VALUELESS: frozenset[FaultKind] = frozenset(
    {"malformed", "garbage", "duplicate", "hostile", "odd_timestamps", "drop"}
)
_KNOWN_STATUSES = frozenset({"queued", "processing", "completed", "failed"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_INTEGER = re.compile(r"[+-]?[0-9]+")
_STATUS_WORD = re.compile(r"[a-z][a-z_]{0,39}")
_MAX_DELAY = 3600.0


def _as_int(kind: str, raw: object) -> int:
    """Read an integer given as a JSON number or as text."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw)
    raise ValueError(f"{kind} needs a whole number, got {raw!r}")


def _as_seconds(name: str, raw: object) -> float:
    """Read a finite, non-negative number of seconds."""
    number: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} needs a number of seconds >= 0, got {raw!r}")
    return number


def _normalize(kind: FaultKind, raw: object) -> FaultValue:
    """Check a rule's value for its kind and return it converted, or a default."""
    if kind in _VALUELESS:
        if raw is not None:
            raise ValueError(f"{kind} takes no value, got {raw!r}")
        return None
    if kind == "status":
        code = _as_int(kind, raw)
        if not 400 <= code <= 599:
            raise ValueError(f"status needs an error code within 400-599, got {code}")
        return code
    if kind == "rate_limit":
        if raw is None:
            return 1
        if raw in ("date", "none"):
            return raw
        wait = _as_int(kind, raw)
        if wait < 0:
            raise ValueError(
                f"rate_limit needs seconds >= 0, 'date' or 'none', got {raw!r}"
            )
        return wait
    if kind == "total_drift":
        drift = 5 if raw is None else _as_int(kind, raw)
        if drift == 0:
            raise ValueError("total_drift of 0 would change nothing")
        return drift
    if kind == "unknown_status":
        word = "archived" if raw is None else raw
        if not isinstance(word, str) or not _STATUS_WORD.fullmatch(word):
            raise ValueError(f"unknown_status needs a lowercase word, got {raw!r}")
        if word in _KNOWN_STATUSES:
            raise ValueError(
                f"unknown_status needs a status the API does not use, got {word!r}"
            )
        return word
    if kind == "delay":
        if raw is None:
            raise ValueError("delay needs a number of seconds, e.g. delay=3")
        seconds = _as_seconds("delay", raw)
        if not 0 < seconds <= _MAX_DELAY:
            raise ValueError(
                f"delay must be within (0, {_MAX_DELAY:g}] seconds, got {raw!r}"
            )
        return seconds
    code = 302 if raw is None else _as_int(kind, raw)
    if code not in _REDIRECT_CODES:
        raise ValueError(f"redirect needs one of {sorted(_REDIRECT_CODES)}, got {code}")
    return code


@dataclass(frozen=True)
class FaultRule:
    """One kind of misbehaviour, where and how often it applies.

    `value` is checked and converted on construction, so `FaultRule("status",
    "503")` and `FaultRule("status", 503)` are the same rule; kinds with an
    optional value get their default filled in.
    """

    kind: FaultKind
    value: FaultValue = None
    path: FaultPath = "any"
    count: int | None = None
    """How many matching requests it applies to; None until cleared."""
    start: float | None = None
    """Simulated seconds after the world started before it becomes active."""
    duration: float | None = None
    """Simulated seconds it stays active; None for no end."""

    def __post_init__(self) -> None:
        """Validate every field and fill in the kind's default value."""
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}"
            )
        object.__setattr__(self, "value", _normalize(self.kind, self.value))
        if self.path not in ("list", "get", "any"):
            raise ValueError(f"path must be list, get or any, got {self.path!r}")
        if self.kind in LIST_ONLY and self.path == "get":
            raise ValueError(f"{self.kind} only applies to the list route")
        if self.count is not None and (isinstance(self.count, bool) or self.count < 1):
            raise ValueError(f"count must be >= 1, got {self.count!r}")
        if self.start is not None:
            _as_seconds("start", self.start)
        if self.duration is not None and _as_seconds("duration", self.duration) == 0:
            raise ValueError("duration must be > 0 seconds")

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        """Read one rule in the text form, e.g. ``status=503:count=3``.

        Raises:
            ValueError: saying what part of `text` is wrong.
        """
        head, *options = (part.strip() for part in text.strip().split(":"))
        name, has_value, raw_value = (part.strip() for part in head.partition("="))
        if name not in KINDS:
            raise ValueError(
                f"unknown fault kind {name!r} in {text!r}; known: {', '.join(KINDS)}"
            )
        if has_value and not raw_value:
            raise ValueError(f"empty value after '=' in {text!r}")
        settings: dict[str, str] = {}
        for option in options:
            key, equals, setting = (part.strip() for part in option.partition("="))
            if key not in ("count", "path", "start", "duration") or not equals:
                raise ValueError(
                    f"bad option {option!r} in {text!r}; expected count=N, "
                    "path=list|get|any, start=S or duration=D"
                )
            if key in settings:
                raise ValueError(f"option {key!r} given twice in {text!r}")
            settings[key] = setting
        try:
            return cls(
                kind=name,
                value=raw_value if has_value else None,
                path=cast(FaultPath, settings.get("path", "any")),
                count=_optional_count(settings.get("count")),
                start=_optional_seconds("start", settings.get("start")),
                duration=_optional_seconds("duration", settings.get("duration")),
            )
        except ValueError as error:
            raise ValueError(f"{error} (in {text!r})") from None

    def applies_to(self, route: Route) -> bool:
        """Whether this rule can affect a request on `route`."""
        if self.kind in LIST_ONLY and route != "list":
            return False
        return self.path in ("any", route)

    def active_at(self, elapsed: float) -> bool:
        """Whether the rule's time window holds simulated second `elapsed`."""
        if self.start is not None and elapsed < self.start:
            return False
        return not self.over_at(elapsed)

    def over_at(self, elapsed: float) -> bool:
        """Whether the rule's time window has closed for good."""
        if self.duration is None:
            return False
        return elapsed >= (self.start or 0.0) + self.duration

    def int_value(self) -> int:
        """The value of a kind whose value is a whole number."""
        if not isinstance(self.value, int):
            raise TypeError(f"{self.kind} has no whole-number value")
        return self.value

    def float_value(self) -> float:
        """The value of a kind whose value is a number of seconds."""
        if not isinstance(self.value, int | float):
            raise TypeError(f"{self.kind} has no numeric value")
        return float(self.value)

    def text_value(self) -> str:
        """The value of a kind whose value is a word."""
        if not isinstance(self.value, str):
            raise TypeError(f"{self.kind} has no text value")
        return self.value


class Hit(NamedTuple):
    """A rule chosen for one request, and how many times it applied before."""

    rule: FaultRule
    ordinal: int


@dataclass
class _Armed:
    """A rule held by `Faults`, with its remaining count and use so far."""

    rule: FaultRule
    remaining: int | None
    used: int = 0


_FILE_KEYS = frozenset({"kind", "value", "path", "count", "start", "duration"})


class Faults:
    """The fault rules a running simulator obeys; safe to change from any thread."""

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        """Hold `rules`, in order; with none the simulator behaves."""
        self._lock = threading.Lock()
        self._armed = [_Armed(rule, rule.count) for rule in rules]

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Read the comma-separated text form described in the module docstring.

        Raises:
            ValueError: if the spec is empty or any rule in it is invalid.
        """
        parts = [part for part in (piece.strip() for piece in spec.split(",")) if part]
        if not parts:
            raise ValueError("empty fault spec; expected e.g. status=503:count=3")
        return cls(FaultRule.parse(part) for part in parts)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Faults:
        """Load a JSON scenario file, as described in the module docstring.

        Raises:
            ValueError: if the file is not JSON of that shape.
            OSError: if it cannot be read.
        """
        with open(path, encoding="utf-8") as handle:
            try:
                document = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{os.fspath(path)} is not valid JSON: {error}"
                ) from None
        entries = document.get("faults") if isinstance(document, dict) else document
        if not isinstance(entries, list):
            raise ValueError('a scenario is a list of rules or {"faults": [...]}')
        return cls(_rule_from_json(index, entry) for index, entry in enumerate(entries))

    def add(self, *rules: FaultRule | str) -> None:
        """Arm more rules; text is read with `Faults.parse`."""
        armed: list[_Armed] = []
        for rule in rules:
            if isinstance(rule, str):
                armed.extend(Faults.parse(rule)._armed)
            else:
                armed.append(_Armed(rule, rule.count))
        with self._lock:
            self._armed.extend(armed)

    def clear(self, kind: FaultKind | None = None) -> None:
        """Disarm every rule, or only those of one kind."""
        with self._lock:
            self._armed = [
                a for a in self._armed if kind is not None and a.rule.kind != kind
            ]

    def pending(self) -> list[FaultRule]:
        """The armed rules, each with `count` set to what is left of it."""
        with self._lock:
            return [replace(a.rule, count=a.remaining) for a in self._armed]

    def take(self, route: Route, elapsed: float) -> list[Hit]:
        """Choose the rules for one request and use up their counts.

        `elapsed` is the simulated time, for rules with a time window; rules
        whose window has closed are dropped here.
        """
        with self._lock:
            self._armed = [a for a in self._armed if not a.rule.over_at(elapsed)]
            matching = [
                a
                for a in self._armed
                if a.rule.applies_to(route) and a.rule.active_at(elapsed)
            ]
            chosen = [a for a in matching if a.rule.kind == "delay"]
            replacing = next((a for a in matching if a.rule.kind in REPLACING), None)
            if replacing is not None:
                chosen.append(replacing)
            else:
                chosen.extend(a for a in matching if a.rule.kind in BODY)
            hits = [self._use(armed) for armed in chosen]
            self._armed = [a for a in self._armed if a.remaining != 0]
            return hits

    @staticmethod
    def _use(armed: _Armed) -> Hit:
        """Count one application of an armed rule."""
        hit = Hit(armed.rule, armed.used)
        armed.used += 1
        if armed.remaining is not None:
            armed.remaining -= 1
        return hit


def _rule_from_json(index: int, entry: object) -> FaultRule:
    """Build one rule of a scenario file, naming the entry in any error."""
    if not isinstance(entry, dict) or "kind" not in entry:
        raise ValueError(f"scenario rule {index} must be an object with a 'kind'")
    unknown = set(entry) - _FILE_KEYS
    if unknown:
        raise ValueError(f"scenario rule {index} has unknown keys {sorted(unknown)}")
    try:
        return FaultRule(
            kind=entry["kind"],
            value=entry.get("value"),
            path=entry.get("path", "any"),
            count=_optional_count(entry.get("count")),
            start=_optional_seconds("start", entry.get("start")),
            duration=_optional_seconds("duration", entry.get("duration")),
        )
    except ValueError as error:
        raise ValueError(f"scenario rule {index}: {error}") from None


def _optional_count(raw: object) -> int | None:
    """Read a count from JSON, which must be a whole number when present."""
    return None if raw is None else _as_int("count", raw)


def _optional_seconds(name: str, raw: object) -> float | None:
    """Read a start or duration from JSON when present."""
    return None if raw is None else _as_seconds(name, raw)
