"""The configuration as a RouterOS script (`hotspotd router script NAME > site.rsc`), from
the same description `deploy` applies (configuration.py). Running it twice changes
nothing, as with deploy: an item is added only when missing, else set.
"""

from __future__ import annotations

import re

from .configuration import Entry

_BARE = re.compile(r"^[A-Za-z0-9_.,:/*@+-]+$")


def quote(value: str) -> str:
    """A value as RouterOS script writes it: bare when safe, else in double quotes with
    \\, ", $ and ? escaped (in a terminal `?` asks for help, `$` names a variable)."""
    if value and _BARE.match(value):
        return value
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("?", "\\?")
               .replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t"))
    return f'"{escaped}"'


def _pairs(values: dict[str, str]) -> str:
    return " ".join(f"{key}={quote(value)}" for key, value in values.items())


def _menu(path: str) -> str:
    return " ".join(path.split("/")).strip()


def render_entry(entry: Entry) -> list[str]:
    menu = "/" + _menu(entry.path)
    if entry.scope == "single":
        return [menu, f"set {_pairs(entry.values)}"]
    if entry.scope == "every":
        return [menu, f"set [find] {_pairs(entry.values)}"]
    find = " ".join(f"{key}={quote(value)}" for key, value in entry.find.items())
    return [
        menu,
        "{",
        f"  :local ids [find {find}]",
        f"  :if ([:len $ids] = 0) do={{ add {_pairs({**entry.find, **entry.values})} }} else={{",
        "    :if ([:len $ids] > 1) do={ remove [:pick $ids 1 [:len $ids]] }",
        f"    set [find {find}] {_pairs(entry.values)}",
        "  }",
        "}",
    ]


def render(entries: list[Entry], *, router_name: str, generated: str) -> str:
    lines = [f"# hotspotd configuration for router {router_name} (generated {generated}).",
             "# Paste it into a terminal or run `/import file-name=site.rsc`; running it again changes nothing.",
             "# The same settings `hotspotd router deploy` makes, step by step."]
    for entry in entries:
        lines += ["", f"# step: {entry.step}", *render_entry(entry)]
    return "\n".join(lines) + "\n"
