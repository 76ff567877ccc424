"""A small reader of RouterOS scripts for the tests, written from the scripting manual
(line structure, comments, strings and their escapes, `;` and blocks): it lists the commands
a script would run and the values it would pass, so a test can see that operator text stays
inside its value."""

from __future__ import annotations

import re

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$", "?": "?", "_": " ", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v"}
_HEX = re.compile(r"[0-9A-F]{2}")


def _string(text: str, i: int) -> tuple[str, int]:
    """The value of the string starting at text[i] == '"', and the index after it."""
    out, i = [], i + 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated string")
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\":
            pair = text[i + 1:i + 3]
            if _HEX.fullmatch(pair):
                out.append(chr(int(pair, 16)))
                i += 3
                continue
            if text[i + 1] == "\n":  # a line joined inside a string
                i += 2
                continue
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(char)
        i += 1


def tokens(script: str) -> list[tuple[str, str]]:
    """(kind, text): kind is word (strings already joined into their word, decoded), open,
    close or end (a newline or `;`). Comments are dropped."""
    found: list[tuple[str, str]] = []
    i, line_start = 0, True
    while i < len(script):
        char = script[i]
        if char in "\n;":
            found.append(("end", char))
            i, line_start = i + 1, char == "\n"
            continue
        if char in " \t\r":
            i += 1
            continue
        if char == "#" and (line_start or (found and found[-1][0] in ("end", "open"))):
            while i < len(script) and script[i] != "\n":
                i += 1
            continue
        line_start = False
        if char in "{[(":
            found.append(("open", char))
            i += 1
            continue
        if char in "}])":
            found.append(("close", char))
            i += 1
            continue
        word = []
        while i < len(script) and script[i] not in " \t\r\n;{}[]()":
            if script[i] == '"':
                value, i = _string(script, i)
                word.append(value)
            else:
                word.append(script[i])
                i += 1
        found.append(("word", "".join(word)))
    return found


def commands(script: str) -> list[str]:
    """The commands a script runs, in order: a path and verb (`/ip firewall nat add`) or a
    global command (`:if`), and the relative ones inside brackets (`find`)."""
    out: list[str] = []
    toks = tokens(script)
    starts = True
    depth_paren = 0
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        if kind == "open":
            depth_paren += text == "("
            starts = text in "{["
        elif kind == "close":
            depth_paren -= text == ")"
            starts = False
        elif kind == "end":
            starts = True
        elif starts and depth_paren == 0:
            head = [text]
            if text.startswith("/") or not text.startswith(":"):
                while i + 1 < len(toks) and toks[i + 1][0] == "word" and "=" not in toks[i + 1][1] \
                        and not toks[i + 1][1].startswith("$"):
                    i += 1
                    head.append(toks[i][1])
            out.append(" ".join(head))
            starts = False
        i += 1
    return out


def values(script: str, key: str) -> list[str]:
    """Every value given to `key=` in the script, decoded."""
    return [text.split("=", 1)[1] for kind, text in tokens(script) if kind == "word" and text.startswith(key + "=")]
