"""``$name`` expansion with the semantics of Postfix 3.7's main.cf macro language.

Forms: ``$name``, ``${name}``, ``$(name)``; ``${name?text}`` (text when name is non-empty),
``${name:text}`` (text when name is empty or undefined); ``${name?{text1}:{text2}}`` and
``${name?{text1}:text2}``; ``${name:{text}}``; the comparison ``${{a} op {b} ? {t} : {f}}``
with op one of ``== != < <= > >=`` (integers) or ``<level <=level >level >=level ==level
!=level`` (dotted compatibility levels); and ``$$`` for a literal dollar. A ``$`` not
followed by a name, ``$``, ``{`` or ``(`` is an error, as in Postfix.

Expansion is lazy and recursive: the text substituted for a name is expanded in turn. A
name that (indirectly) refers to itself is an error naming the chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vmail.core.errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9_]+")
_REFERENCE = re.compile(r"\$(?:\{|\()?\s*([A-Za-z0-9_]+)")
_LEVEL_OPS = ("<=level", ">=level", "==level", "!=level", "<level", ">level")
_INT_OPS = ("==", "!=", "<=", ">=", "<", ">")

Lookup = Callable[[str], str | None]
"""Returns a parameter's raw (unexpanded) value, or None when it is undefined."""

OnUndefined = Callable[[str], None]


class MacroError(ConfigError):
    """Malformed ``$`` syntax or a recursive reference (location added by the caller)."""


def references(value: str) -> set[str]:
    """Every name referred to by ``$name``-style syntax anywhere in ``value``."""
    return set(_REFERENCE.findall(value.replace("$$", "")))


def expand(
    value: str,
    lookup: Lookup,
    *,
    stack: tuple[str, ...] = (),
    on_undefined: OnUndefined | None = None,
) -> str:
    """Return ``value`` with every ``$`` reference replaced, using ``lookup(name)``.

    ``stack`` names the parameters being expanded (outermost first), for loop detection.
    """
    return _Expander(lookup, on_undefined).run(value, stack)


class _Expander:
    def __init__(self, lookup: Lookup, on_undefined: OnUndefined | None) -> None:
        self.lookup = lookup
        self.on_undefined = on_undefined

    def run(self, value: str, stack: tuple[str, ...]) -> str:
        if "$" not in value:
            return value
        out: list[str] = []
        i, n = 0, len(value)
        while i < n:
            j = value.find("$", i)
            if j < 0:
                out.append(value[i:])
                break
            out.append(value[i:j])
            nxt = value[j + 1] if j + 1 < n else ""
            if nxt == "$":
                out.append("$")
                i = j + 2
            elif nxt in ("{", "("):
                close = "}" if nxt == "{" else ")"
                end = _matching(value, j + 1, nxt, close)
                if end < 0:
                    raise MacroError(f'truncated macro reference: "{value[j:]}"')
                out.append(self._braced(value[j + 2 : end], value, stack))
                i = end + 1
            else:
                m = _NAME.match(value, j + 1)
                if not m:
                    raise MacroError(f'empty macro name: "{value}"')
                out.append(self._resolve(m.group(0), stack))
                i = m.end()
        return "".join(out)

    def _resolve(self, name: str, stack: tuple[str, ...]) -> str:
        if name in stack:
            chain = " -> ".join((*stack[stack.index(name) :], name))
            raise MacroError(f"recursive parameter expansion: {chain}")
        raw = self.lookup(name)
        if raw is None:
            if self.on_undefined is not None:
                self.on_undefined(name)
            return ""
        return self.run(raw, (*stack, name))

    def _braced(self, body: str, whole: str, stack: tuple[str, ...]) -> str:
        text = body.lstrip()
        if text.startswith("{"):
            return self._comparison(text, stack)
        m = _NAME.match(text)
        if not m:
            raise MacroError(f'empty macro name: "{whole}"')
        name, rest = m.group(0), text[m.end() :]
        if not rest.strip():
            return self._resolve(name, stack)
        op, arg = rest[0], rest[1:]
        if op not in "?:":
            raise MacroError(f'attribute name syntax error at: "...{name}>>>{rest}"')
        value = self._resolve(name, stack)
        when_true, when_false = _alternatives(op, arg)
        chosen = when_true if value else when_false
        return self.run(chosen, stack)

    def _comparison(self, text: str, stack: tuple[str, ...]) -> str:
        left, rest = _group(text)
        rest = rest.lstrip()
        for op in (*_LEVEL_OPS, *_INT_OPS):
            if rest.startswith(op):
                break
        else:
            raise MacroError(f'unknown operator at: "...{{{left}}}>>>{rest}"')
        rest = rest[len(op) :].lstrip()
        if not rest.startswith("{"):
            raise MacroError(f'"{{" expected at: "...{op}>>>{rest}"')
        right, rest = _group(rest)
        rest = rest.lstrip()
        if not rest.startswith("?"):
            raise MacroError(f'"?" expected at: "...}}>>>{rest}"')
        when_true, when_false = _alternatives("?", rest[1:])
        a, b = self.run(left, stack).strip(), self.run(right, stack).strip()
        chosen = when_true if _compare(a, op, b) else when_false
        return self.run(chosen, stack)


def _alternatives(op: str, arg: str) -> tuple[str, str]:
    """``(text if non-empty, text if empty)`` for the part after ``?`` or ``:``."""
    stripped = arg.lstrip()
    if not stripped.startswith("{"):
        return (arg, "") if op == "?" else ("", arg)
    first, rest = _group(stripped)
    rest = rest.strip()
    if op == ":":
        if rest:
            raise MacroError(f'unexpected input at: "...{first}}}>>>{rest}"')
        return "", first
    if not rest:
        return first, ""
    if not rest.startswith(":"):
        raise MacroError(f'":" expected at: "...{first}}}>>>{rest}"')
    second = rest[1:].lstrip()
    if second.startswith("{"):
        second, tail = _group(second)
        if tail.strip():
            raise MacroError(f'unexpected input at: "...{second}}}>>>{tail.strip()}"')
    return first, second


def _group(text: str) -> tuple[str, str]:
    """Split ``{inner}rest`` into ``(inner, rest)``, honouring nested braces."""
    end = _matching(text, 0, "{", "}")
    if end < 0:
        raise MacroError(f'truncated macro reference: "{text}"')
    return text[1:end], text[end + 1 :]


def _matching(text: str, start: int, open_: str, close: str) -> int:
    """Index of the bracket closing the one at ``start``, honouring nesting; -1 if none."""
    depth = 0
    for k in range(start, len(text)):
        if text[k] == open_:
            depth += 1
        elif text[k] == close:
            depth -= 1
            if depth == 0:
                return k
    return -1


def _level(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise MacroError(f'bad compatibility level: "{text}"') from None


def _compare(a: str, op: str, b: str) -> bool:
    if op.endswith("level"):
        x, y = _level(a), _level(b)
        base = op[: -len("level")]
    else:
        if op in ("==", "!=") and not (a.lstrip("+-").isdigit() and b.lstrip("+-").isdigit()):
            return (a == b) == (op == "==")
        try:
            x, y = (int(a),), (int(b),)
        except ValueError:
            raise MacroError(f'non-numeric operand in "{a} {op} {b}"') from None
        base = op
    results = {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}
    return results[base]
