"""Settings as overrides: ``env.actions.joint.scale=0.25 agent.algorithm.gamma=0.995``, as Isaac Lab's own scripts
take them, applied to a run's configs (``@configclass`` and plain dataclasses) with type checks.

Isaac Lab 3.0 reads such tokens through Hydra (``isaaclab_tasks.utils.hydra.register_task``), whose setter neither
refuses an unknown key (a misspelt one becomes a new attribute, silently) nor checks a value's type, and whose
decorator takes over ``sys.argv``. The values here are read the same way (``true``/``false``/``none``/``null``,
Python literals, else a string); what differs is that a key must name an existing field and a value must fit it,
and both are said in one line otherwise::

    apply_overrides({"env": env_cfg, "agent": agent_cfg}, ["env.decimation=8", "agent.algorithm.gamma=0.995"])
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping

_LITERALS = {"true": True, "false": False, "none": None, "null": None}
OVERRIDE = re.compile(r"^(?P<key>[A-Za-z_]\w*(?:\.[\w\-*]+)+)=(?P<value>.*)$", re.DOTALL)
"""``section.path.to.field=value``; a token of this shape on a script's command line is an override."""


class OverrideError(ValueError):
    """An override that names no setting of the configs, or a value that does not fit the setting."""


def is_override(token: str) -> bool:
    return not token.startswith("-") and OVERRIDE.match(token) is not None


def parse_value(text: str):
    """``text`` as Isaac Lab's Hydra helper reads it: true/false/none/null, a Python literal, else the string."""
    if text.strip().lower() in _LITERALS:
        return _LITERALS[text.strip().lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def apply_overrides(cfgs: Mapping[str, object], overrides: Iterable[str]) -> list[str]:
    """Set each ``section.path=value`` of ``overrides`` on ``cfgs[section]``, in order; return them as applied.

    A key must name an existing field (dataclass field, dict key or list index), and the value must fit the
    field's current value: a bool for a bool, an integer for an int, a number for a float (kept a float), a list
    for a list or tuple (kept a tuple), a string for a string (the text as typed), None only where the field's
    annotation allows it. A whole section (a dataclass) cannot be replaced except by None where allowed (e.g.
    ``env.curriculum=None``, or an Isaac Lab manager term: ``env.rewards.alive=None`` switches it off). Plain dataclasses with a ``__post_init__`` (e.g. the reward's ``ablation``) are
    rebuilt with ``dataclasses.replace`` so that their own checks and derived fields follow; so are frozen ones.
    Raises :class:`OverrideError` naming the override and the choices."""
    applied = []
    for text in overrides:
        match = OVERRIDE.match(text)
        if match is None:
            raise OverrideError(f"'{text}' is not an override; write SECTION.PATH=VALUE, e.g. env.decimation=8")
        section, *path = match["key"].split(".")
        if section not in cfgs or cfgs[section] is None:
            known = ", ".join(f"{k}." for k, v in cfgs.items() if v is not None)
            raise OverrideError(f"'{text}': this script takes overrides of {known or 'nothing'} only")
        _set(cfgs[section], section, path, match["value"], text)
        applied.append(text)
    return applied


def _set(root, section: str, path: list[str], raw: str, text: str) -> None:
    # a config's short names for a nested section (``__override_aliases__``): env.imitation.X is commands.imitation.X
    alias = getattr(type(root), "__override_aliases__", {}).get(path[0]) if len(path) > 1 else None
    if alias:
        try:
            return _set(root, section, alias.split(".") + path[1:], raw, text)
        except OverrideError as err:  # said in the words typed
            raise OverrideError(str(err).replace(f"{section}.{alias}", f"{section}.{path[0]}")) from None
    chain = [root]  # the objects along the path, to rebuild frozen / checked dataclasses on the way back
    for depth, part in enumerate(path[:-1]):
        chain.append(_child(chain[-1], part, f"{section}.{'.'.join(path[:depth])}".rstrip("."), text))
    parent, leaf = chain[-1], path[-1]
    where = f"{section}.{'.'.join(path[:-1])}".rstrip(".")
    current = _child(parent, leaf, where, text)
    value = _fit(parent, leaf, current, raw, text)
    new = _with(parent, leaf, value, text, in_place=parent is root)
    # a rebuilt (frozen or checked) dataclass replaces itself in its own parent, up the chain; the root in place
    for depth in range(len(chain) - 1, 0, -1):
        if new is chain[depth]:
            break
        new = _with(chain[depth - 1], path[depth - 1], new, text, in_place=depth == 1)


def _fields(obj) -> list[str]:
    if isinstance(obj, Mapping):
        return [str(k) for k in obj]
    if dataclasses.is_dataclass(obj):
        return [f.name for f in dataclasses.fields(obj)]
    return []


def _child(obj, name: str, where: str, text: str):
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
    elif isinstance(obj, (list, tuple)):
        if name.isdigit() and int(name) < len(obj):
            return obj[int(name)]
        raise OverrideError(f"'{text}': {where} is a list of {len(obj)}; index it 0..{len(obj) - 1}")
    elif dataclasses.is_dataclass(obj):
        if name in _fields(obj):
            return getattr(obj, name)
    else:
        raise OverrideError(f"'{text}': {where} is a {type(obj).__name__} value, not a section with fields")
    known = _fields(obj)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    listing = ", ".join(known) if len(known) <= 30 else ", ".join(known[:30]) + ", ..."
    raise OverrideError(f"'{text}': {where} has no '{name}'{hint}; its fields: {listing}")


def _annotation(obj, name: str) -> str | None:
    """The field's type annotation as text (``"dict[str, float] | float | None"``), None where unknown."""
    if not dataclasses.is_dataclass(obj):
        return None
    kind = {f.name: f.type for f in dataclasses.fields(obj)}.get(name)
    if kind is None:
        return None
    return kind if isinstance(kind, str) else getattr(kind, "__name__", None) or repr(kind)


_KINDS = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,), "list": (list, tuple),
          "tuple": (list, tuple), "Sequence": (list, tuple), "dict": (dict,), "Mapping": (dict,)}


def _union_members(annotation: str) -> list[str]:
    """``"dict[str, float] | float | None"`` -> ``["dict", "float", "None"]`` (top level only)."""
    members, depth, start = [], 0, 0
    for i, char in enumerate(annotation + "|"):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "|" and depth == 0:
            members.append(annotation[start:i].strip().split("[", 1)[0].removeprefix("typing."))
            start = i + 1
    return members


def _fits_annotation(annotation: str | None, value):
    """``value`` made to fit one member of a union annotation (an int for a float member becomes a float), or
    :data:`_NO_FIT`; only unions are read this way (a field of one type is checked against its current value)."""
    if annotation is None or "|" not in annotation:
        return _NO_FIT
    members = _union_members(annotation)
    for member in members:
        kinds = _KINDS.get(member)
        if kinds and isinstance(value, kinds) and (member in ("bool",) or not isinstance(value, bool)):
            if member == "float":
                return float(value)
            return tuple(value) if member == "tuple" else value
    return _NO_FIT


_NO_FIT = object()


def _is_manager_term(value) -> bool:
    """An Isaac Lab manager term's config (a reward, event, termination, observation or curriculum term): setting
    it to None switches the term off, as Isaac Lab's managers skip None terms."""
    return any(c.__name__ == "ManagerTermBaseCfg" for c in type(value).__mro__)


def _allows_none(obj, name: str) -> bool:
    if not dataclasses.is_dataclass(obj):
        return isinstance(obj, Mapping)
    kind = _annotation(obj, name)
    return kind is None or "None" in kind or "Optional" in kind or kind in ("Any", "object")


def _fit(parent, name: str, current, raw: str, text: str):
    """The typed value of ``raw`` for a field that holds ``current`` now."""
    value = parse_value(raw)
    key = text.split("=", 1)[0]
    if value is None:
        if current is None or _allows_none(parent, name) or _is_manager_term(current):
            return None
        raise OverrideError(f"'{text}': {key} cannot be None")
    fitted = _fits_annotation(_annotation(parent, name), value)
    if fitted is not _NO_FIT:
        return fitted
    if dataclasses.is_dataclass(current):
        fields = ", ".join(_fields(current))
        raise OverrideError(f"'{text}': {key} is a section ({type(current).__name__}); set one of its fields "
                            f"({fields}) as {key}.FIELD=VALUE")
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise OverrideError(f"'{text}': {key} is true or false, not {raw!r}")
    if isinstance(current, int) and not isinstance(value, bool) and isinstance(value, int):
        return value
    if isinstance(current, int):
        raise OverrideError(f"'{text}': {key} is an integer, not {raw!r}")
    if isinstance(current, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise OverrideError(f"'{text}': {key} is a number, not {raw!r}")
    if isinstance(current, str):
        return value if isinstance(value, str) else raw.strip()
    if isinstance(current, (list, tuple)):
        if isinstance(value, (list, tuple)):
            return type(current)(value)
        raise OverrideError(f"'{text}': {key} is a list, e.g. {key}={list(current)!r}; not {raw!r}")
    if isinstance(current, Mapping):
        if isinstance(value, Mapping):
            return dict(value)
        raise OverrideError(f"'{text}': {key} is a mapping; set one key as {key}.KEY=VALUE")
    if current is None:
        return value
    if callable(current):
        raise OverrideError(f"'{text}': {key} is a function ({getattr(current, '__name__', current)!r}); functions "
                            "are set in the task's config, not on the command line")
    raise OverrideError(f"'{text}': {key} holds a {type(current).__name__}, which the command line does not set")


def _with(obj, name: str, value, text: str, in_place: bool = False):
    """``obj`` with ``name`` set to ``value``: in place where it can be (or must: ``in_place``, the configs given),
    else a rebuilt copy (returned)."""
    if isinstance(obj, dict):
        obj[name] = value
        return obj
    if isinstance(obj, list):
        obj[int(name)] = value
        return obj
    if isinstance(obj, tuple):
        return type(obj)(value if i == int(name) else v for i, v in enumerate(obj))
    params = getattr(obj, "__dataclass_params__", None)
    is_configclass = hasattr(obj, "from_dict")  # Isaac Lab's configclass: fields are set in place
    if not in_place and ((params is not None and params.frozen)
                         or (not is_configclass and hasattr(obj, "__post_init__"))):
        try:
            return dataclasses.replace(obj, **{name: value})
        except (TypeError, ValueError) as err:
            raise OverrideError(f"'{text}': {err}") from None
    setattr(obj, name, value)
    return obj
