"""The configuration as a RouterOS script (`hotspotd router script NAME > site.rsc`), from
the same description `deploy` applies (configuration.py). Running it twice leaves the
same configuration, as with deploy: an item is added only when missing, else set.

Every value is written by `quote`, and no operator text (a router's name, a secret, a URL)
reaches the script any other way: a name with a newline in it must not become a command.
Commands are written with their whole path (`/ip firewall nat add ...`), so they mean the
same inside the one block that holds the script; the block lets the device-mode check stop
the whole script, pasted into a terminal or run with `/import`, before anything changes.
"""

from __future__ import annotations

import re

from .configuration import Entry

_BARE = re.compile(r"^[A-Za-z0-9_.,:/-]+$")
# RouterOS script escapes (scripting manual, "Constant Escape Sequences"); `?` is escaped
# too, since a terminal takes a bare one as a request for help
_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "?": "\\?", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def quote(value: str) -> str:
    """A value as RouterOS script writes it: bare when it is only letters, digits and
    `_ . , : / -`, else in double quotes with `\\ " $ ?` and every control character
    escaped (other control characters as `\\XX`, capital hex as RouterOS wants it)."""
    if value and _BARE.match(value):
        return value
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):02X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _pairs(values: dict[str, str]) -> str:
    return " ".join(f"{key}={quote(value)}" for key, value in values.items())


def _menu(path: str) -> str:
    """`/ip/firewall/nat` -> `/ip firewall nat`, the path as a command's first words."""
    return "/" + " ".join(part for part in path.split("/") if part)


def _require(entry: Entry) -> list[str]:
    # `:parse` compiles the read only when it runs, so a RouterOS without this menu (before
    # 7.17 for device-mode) fails inside the `:do`, not when the script is read
    menu = _menu(entry.path)
    lines = []
    for key, value in entry.values.items():
        wanted = "true" if value in ("yes", "true") else "false" if value in ("no", "false") else quote(value)
        lines += ["  {",
                  "    :local have " + wanted,
                  f"    :do {{ :set have [[:parse {quote(f':return [{menu} get {key}]')}]] }} on-error={{}}",
                  f"    :if ($have != {wanted}) do={{ :error {quote(entry.refusal)} }}",
                  "  }"]
    return lines


def render_entry(entry: Entry) -> list[str]:
    """The lines of one step, indented for the script's block."""
    menu = _menu(entry.path)
    find = _pairs(entry.find)
    if entry.scope == "require":
        return _require(entry)
    if entry.scope == "single":
        return [f"  {menu} set {_pairs(entry.values)}"]
    if entry.scope == "every":
        return [f"  {menu} set [find] {_pairs(entry.values)}"]
    if entry.scope == "absent":
        return [f"  {menu} remove [find {find}]"]
    values = _pairs({**entry.find, **entry.values})
    if entry.before is not None:
        # ours goes (again) right before the first item it must precede
        return ["  {",
                f"    :local ids [{menu} find {find}]",
                f"    :if ([:len $ids] > 0) do={{ {menu} remove $ids }}",
                f"    :local before [{menu} find {_pairs(entry.before)}]",
                f"    :if ([:len $before] > 0) do={{ {menu} add {values} place-before=[:pick $before 0] }} "
                f"else={{ {menu} add {values} }}",
                "  }"]
    return ["  {",
            f"    :local ids [{menu} find {find}]",
            f"    :if ([:len $ids] = 0) do={{ {menu} add {values} }} else={{",
            f"      :if ([:len $ids] > 1) do={{ {menu} remove [:pick $ids 1 [:len $ids]] }}",
            f"      {menu} set [find {find}] {_pairs(entry.values)}",
            "    }",
            "  }"]


def render(entries: list[Entry], *, router_name: str, generated: str, service: str = "hotspot") -> str:
    what = "hotspotd" if service == "hotspot" else f"hotspotd {quote(service)}"
    lines = [f"# {what} configuration for router {quote(router_name)} (generated {quote(generated)}).",
             "# Paste it into a terminal or run `/import file-name=site.rsc`; running it again leaves the same",
             "# configuration. The same settings `hotspotd router deploy` makes, step by step.",
             "{"]
    for entry in entries:
        lines += ["", f"  # step: {entry.step}", *render_entry(entry)]
    lines.append("}")
    return "\n".join(lines) + "\n"
