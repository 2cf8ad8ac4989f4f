"""Parameter injection: each ``main()`` gets what it asks for, by name.

The signature is read once, when the module (or ``app_map``) is loaded, into a :class:`CallPlan`;
each call then only looks names up.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import MissingParameterError

__all__ = ["BUILTIN_NAMES", "ERROR_HANDLER_NAMES", "CallPlan", "plan_call"]

#: Names every ``main()`` and ``app_map`` may ask for.
BUILTIN_NAMES = ("request", "response", "log", "abort", "g")
#: Error handlers may also ask for ``e``, the exception being handled.
ERROR_HANDLER_NAMES = (*BUILTIN_NAMES, "e")

_MISSING = object()


@dataclass(frozen=True, slots=True)
class CallPlan:
    """How to call one function: which names it wants and how to pass them.

    :param where: the function in words, for error messages ("handler `foo.ex.get.py`").
    :param positional: names passed by position (positional-only parameters), in order.
    :param keyword: names passed by keyword.
    :param optional: names that have a default value, skipped when nothing provides them.
    :param positional_defaults: the default values of the positional parameters that have one,
        in order; passed for a missing one when a later one is provided.
    :param var_keyword: the function has ``**kwargs``: it gets, by keyword, everything available
        that the named parameters did not take.
    """

    where: str
    positional: tuple[str, ...]
    keyword: tuple[str, ...]
    optional: frozenset[str]
    positional_defaults: tuple[object, ...] = ()
    var_keyword: bool = False

    def call(self, func: Callable[..., object], available: Mapping[str, object]) -> object:
        """Call ``func`` with the parameters it asks for, taken from ``available``.

        :raises MissingParameterError: for a name that is neither available nor defaulted.
        """
        args: list[object] = []
        skipped = 0  # trailing positional parameters left to their defaults
        for name in self.positional:
            value = available.get(name, _MISSING)
            if value is _MISSING:
                if name not in self.optional:
                    raise self.missing(name, available)
                skipped += 1
                continue
            if skipped:  # a later one is provided: pass the defaults of those before it
                first_default = len(self.positional) - len(self.positional_defaults)
                start = len(args) - first_default
                args.extend(self.positional_defaults[start : start + skipped])
                skipped = 0
            args.append(value)
        kwargs = {}
        for name in self.keyword:
            value = available.get(name, _MISSING)
            if value is not _MISSING:
                kwargs[name] = value
            elif name not in self.optional:
                raise self.missing(name, available)
        if self.var_keyword:
            named = (*self.positional, *self.keyword)
            for name, value in available.items():
                if name not in named:
                    kwargs[name] = value
        return func(*args, **kwargs)

    def missing(self, name: str, available: Mapping[str, object]) -> MissingParameterError:
        """The error for ``name``, listing what was available and the closest match."""
        names = list(available)
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        return MissingParameterError(self.where, name, names, close[0] if close else None)


def plan_call(func: Callable[..., object], where: str) -> CallPlan:
    """Read ``func``'s signature into a :class:`CallPlan`.

    Named parameters are injected by name. ``**kwargs`` receives everything available that the
    named parameters did not take (the built-ins and ``app_map``'s extras); ``*args`` receives
    nothing.

    :param where: the function in words, for error messages.
    :raises TypeError: when the signature cannot be read.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: cannot read the signature of `main`: {exc}") from exc
    positional: list[str] = []
    positional_defaults: list[object] = []
    keyword: list[str] = []
    optional: set[str] = set()
    var_keyword = False
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            var_keyword = True
            continue
        if parameter.kind is parameter.VAR_POSITIONAL:
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            positional.append(parameter.name)
            if parameter.default is not parameter.empty:
                positional_defaults.append(parameter.default)
        else:
            keyword.append(parameter.name)
        if parameter.default is not parameter.empty:
            optional.add(parameter.name)
    return CallPlan(
        where,
        tuple(positional),
        tuple(keyword),
        frozenset(optional),
        tuple(positional_defaults),
        var_keyword,
    )
