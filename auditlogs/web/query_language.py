"""The search box's query language, GitHub-style, for the page and the API alike (`q`).

    actor:admin@acme.test action:chatbot.* -action:project.viewed severity:>=warning
    project:"Customer Support" ip:10.0.0.0/8 created:2026-11-01..2026-11-15 Support Bot

- `actor:` the actor's label contains the text; `target:` the target's label does;
- `action:` an event type (`chatbot.deleted`), or several with `*` (`chatbot.*`, `*.viewed`);
- `severity:` `warning`, `warning,critical`, or a comparison: `>=warning`, `>info`, `<critical`;
- `project:` a project by name (quoted when it has spaces) or id;
- `actor_type:` `person`, `api`, `staff` or `system`;
- `ip:` an address or a network (`10.0.0.0/8`);
- `created:` a day (`2026-11-01`), a range (`2026-11-01..2026-11-15`, either end may be left
  out), or `>=2026-11-01`, `<2026-11-15`; dates are in the viewer's time zone, and `created:`
  replaces the Date range of the filters;
- a `-` before a key excludes what it matches (not for `created:`);
- every other word is free text, matched as one phrase like the plain search
  (auditlogs/storage/search.py); `"quoted words"` stay together.

Parsing turns the text into one condition (a Q) and a date window, applied by the FilterSet
(auditlogs/web/filters.py), so the search box, the filters and the API mean the same. Anything
it cannot read raises QuerySyntaxError with a sentence for the person; nothing reaches the
database unchecked.
"""

import fnmatch
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from auditlogs.recording.catalogue import CATALOGUE, Severity
from auditlogs.recording.context import ActorType

MAX_TERMS = 20
ACTOR_TYPES = {
    "person": ActorType.USER, "user": ActorType.USER, "api": ActorType.API,
    "staff": ActorType.STAFF, "system": ActorType.SYSTEM,
}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<neg>-)?(?P<key>[a-z_]+):(?P<value>"(?:[^"\\]|\\.)*"?|[^\s"]*)
      | (?P<phrase>"(?:[^"\\]|\\.)*"?)
      | (?P<word>\S+)
    )""",
    re.VERBOSE,
)
_COMPARISON = re.compile(r"^(>=|<=|>|<|=)?(.*)$")
KEYS = ("actor", "target", "action", "severity", "project", "actor_type", "ip", "created")


class QuerySyntaxError(ValueError):
    pass


@dataclass
class ParsedQuery:
    condition: Q = field(default_factory=Q)
    text: str = ""  # the free words, searched as one phrase
    actors: list[str] = field(default_factory=list)  # actor: terms, searched like the text
    # From created:, replacing the Date range; None when the query has no created:.
    window: tuple[datetime | None, datetime | None] | None = None


def term(key: str, value: str) -> str:
    """`key:value`, quoted when the value needs it (for links that add a filter)."""
    if value and re.fullmatch(r'[^\s"\\]+', value):
        return f"{key}:{value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{key}:"{escaped}"'


def parse(
    text: str,
    *,
    projects: Callable[[], dict[str, int]],
    read_date: Callable[[str, bool], datetime],
) -> ParsedQuery:
    """`projects()` maps the names (case-folded) and ids (as text) of the projects the viewer
    may filter by to their ids (asked only for `project:`); `read_date(text, end)` reads a date
    in the viewer's zone, raising ValueError with a message."""
    parsed = ParsedQuery()
    words: list[str] = []
    terms = 0
    for match in _TOKEN.finditer(text):
        if match.group("key") is not None:
            terms += 1
            if terms > MAX_TERMS:
                raise QuerySyntaxError(f"Use at most {MAX_TERMS} filters in one search.")
            key, negated = match.group("key"), bool(match.group("neg"))
            value = _unquote(match.group("value"), f"{key}:")
            if not value:
                example = _EXAMPLES.get(key, key + ":…")
                raise QuerySyntaxError(f"“{key}:” needs a value, e.g. {example}.")
            if key == "created":
                if negated:
                    raise QuerySyntaxError("“-created:” is not supported; give the dates to keep.")
                parsed.window = _intersect(parsed.window, _created(value, read_date))
                continue
            if key == "actor" and not negated:
                parsed.actors.append(value)  # searched with the text (storage/search.py)
                continue
            builder = _BUILDERS.get(key)
            if builder is None:
                raise QuerySyntaxError(
                    f"“{key}:” is not a filter. Use {', '.join(k + ':' for k in KEYS)}, "
                    "or put the words in quotes."
                )
            condition = builder(value, projects)
            parsed.condition &= ~condition if negated else condition
        elif match.group("phrase") is not None:
            words.append(_unquote(match.group("phrase"), "a quoted phrase"))
        elif match.group("word"):
            words.append(match.group("word"))
    parsed.text = " ".join(w for w in words if w)
    return parsed


_EXAMPLES = {
    "actor": "actor:admin@acme.test", "target": 'target:"Support Bot"',
    "action": "action:chatbot.*", "severity": "severity:>=warning",
    "project": 'project:"Customer Support"', "actor_type": "actor_type:api",
    "ip": "ip:10.0.0.0/8", "created": "created:2026-11-01..2026-11-15",
}


def _unquote(value: str, what: str) -> str:
    if not value.startswith('"'):
        return value
    if len(value) < 2 or not value.endswith('"') or value.endswith('\\"'):
        raise QuerySyntaxError(f"The quotes of {what} are not closed.")
    return re.sub(r"\\(.)", r"\1", value[1:-1]).strip()


def _actor(value: str, projects) -> Q:
    return Q(actor_label__contains_any_case=value)


def _target(value: str, projects) -> Q:
    return Q(target_label__contains_any_case=value)


def _action(value: str, projects) -> Q:
    pattern = value.lower()
    keys = [key for key in CATALOGUE if fnmatch.fnmatchcase(key, pattern)]
    if not keys:
        raise QuerySyntaxError(
            f"No event type matches “{value}”; use a key such as chatbot.deleted or chatbot.*."
        )
    return Q(action__in=keys)


def _severity(value: str, projects) -> Q:
    operator, names = _COMPARISON.match(value.lower()).groups()
    try:
        levels = [Severity.from_name(name.strip()) for name in names.split(",")]
    except KeyError:
        raise QuerySyntaxError(
            f"“{names}” is not a severity; use info, warning or critical (e.g. severity:>=warning)."
        ) from None
    if operator in (None, "="):
        return Q(severity__in=levels)
    if len(levels) != 1:
        raise QuerySyntaxError(f"Compare with one severity, e.g. severity:{operator}warning.")
    lookup = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}[operator]
    return Q(**{f"severity__{lookup}": levels[0]})


def _project(value: str, projects: Callable[[], dict[str, int]]) -> Q:
    project_id = projects().get(value.casefold())
    if project_id is None:
        raise QuerySyntaxError(f"No project “{value}” that you can see.")
    return Q(project_id=project_id)


def _actor_type(value: str, projects) -> Q:
    actor_type = ACTOR_TYPES.get(value.lower())
    if actor_type is None:
        raise QuerySyntaxError(f"“{value}” is not an actor type; use person, api, staff or system.")
    return Q(actor_type=actor_type)


def _ip(value: str, projects) -> Q:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise QuerySyntaxError(
            f"“{value}” is not an IP address or network, such as 203.0.113.9 or 10.0.0.0/8."
        ) from None
    if network.num_addresses == 1:
        return Q(ip=str(network.network_address))
    return Q(ip__in_network=str(network))


def _created(value: str, read_date) -> tuple[datetime | None, datetime | None]:
    def read(text: str, end: bool) -> datetime:
        try:
            return read_date(text, end)
        except ValueError as error:
            raise QuerySyntaxError(f"created: {error}") from None

    if ".." in value:
        first, _, last = value.partition("..")
        if not first and not last:
            raise QuerySyntaxError("created: give at least one end, e.g. created:2026-11-01..")
        window = (read(first, False) if first else None, read(last, True) if last else None)
    else:
        operator, day = _COMPARISON.match(value).groups()
        if operator in (None, "="):
            window = (read(day, False), read(day, True))
        elif operator in (">=", ">"):
            window = (read(day, operator == ">"), None)
        else:
            window = (None, read(day, operator == "<="))
    start, end = window
    if start is not None and end is not None and end <= start:
        raise QuerySyntaxError("created: the end of the range must be after its start.")
    return window


def _intersect(window, other):
    if window is None:
        return other
    starts = [m for m in (window[0], other[0]) if m is not None]
    ends = [m for m in (window[1], other[1]) if m is not None]
    return (max(starts) if starts else None, min(ends) if ends else None)


_BUILDERS: dict[str, Callable[[str, Callable], Q]] = {
    "actor": _actor,
    "target": _target,
    "action": _action,
    "severity": _severity,
    "project": _project,
    "actor_type": _actor_type,
    "ip": _ip,
}
