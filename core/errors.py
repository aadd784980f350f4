"""Typed errors for bad settings: each knows which parameter it is about.

The library words its errors with its Python parameter names (``max_new_tokens``); the
CLI calls that parameter ``--max-new-tokens`` and the server's requests ``max_tokens``.
Rather than rewrite the English text, a front end renders the error with its own names::

    try:
        chat.generate(question, max_new_tokens=n)
    except SettingError as err:
        print(err.render({"max_new_tokens": "max_tokens"}), err.param)

:class:`SettingError` is a ``ValueError`` (:class:`SettingTypeError` also a
``TypeError``), so code that catches those keeps working; :class:`ContextLengthError` is
the setting error of a prompt that, with the new tokens asked for, does not fit the
model's context window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Formatter
from typing import Any

__all__ = ["ContextLengthError", "SettingError", "SettingTypeError"]


def _rebuild(cls: type, state: dict, message: str) -> SettingError:
    err = cls.__new__(cls)
    err.args = (message,)
    err.__dict__.update(state)
    return err


class SettingError(ValueError):
    """A setting outside what is accepted; ``param`` names it as the Python API does.

    Parameters
    ----------
    param : str
        The parameter at fault (``"max_new_tokens"``, ``"temperature"``...).
    template : str
        The message. ``{param}`` stands for ``param``; any other field that is not in
        ``values`` names another parameter by its Python name (``{target_error}``);
        literal braces are doubled.
    **values
        The values the message shows, filled into the fields of the same name (e.g.
        ``{value!r}``); they are never read as template text.

    Attributes
    ----------
    param : str
    template : str
    values : dict
    """

    def __init__(self, param: str, template: str, **values: Any) -> None:
        self.param = param
        self.template = template
        self.values = values
        super().__init__(self.render())

    @property
    def params(self) -> tuple[str, ...]:
        """Every parameter the message names, ``param`` first."""
        out = [self.param]
        for _, field, _, _ in Formatter().parse(self.template):
            name = (field or "").split(".")[0].split("[")[0]
            if name and name != "param" and name not in self.values and name not in out:
                out.append(name)
        return tuple(out)

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """The message, each parameter called as ``names`` calls it.

        Parameters
        ----------
        names : mapping of str to str, optional
            Python parameter name to the front end's name for it (``{"max_new_tokens":
            "--max-new-tokens"}``); a parameter it lacks keeps its Python name.

        Returns
        -------
        str
        """
        names = names or {}
        fields = {p: names.get(p, p) for p in self.params[1:]}
        return self.template.format(
            param=names.get(self.param, self.param), **fields, **self.values
        )

    def prefixed(self, text: str) -> SettingError:
        """This error with ``text`` said first (``"fold without topic 'x': "``), its
        parameters kept, so a front end still names them its own way."""
        kind = SettingTypeError if isinstance(self, TypeError) else SettingError
        return kind(self.param, "{_before}" + self.template, _before=text, **self.values)

    def __reduce__(self) -> tuple:
        return (_rebuild, (type(self), dict(self.__dict__), str(self)))


class SettingTypeError(SettingError, TypeError):
    """A setting of the wrong type (a ``TypeError`` as well as a :class:`SettingError`)."""


class ContextLengthError(SettingError):
    """Prompts that, with ``max_new_tokens`` new tokens, exceed the model's context window.

    ``param`` is ``"max_new_tokens"``: the setting to lower (or the prompt to shorten).

    Parameters
    ----------
    too_long : sequence of (str, int)
        Each prompt that does not fit: how the message names it (``"prompt 3"``, or a
        QA row's id) and its length in tokens.
    n_prompts : int
        Prompts checked together.
    new_tokens : int
        Tokens to be generated after each prompt.
    limit : int
        The model's context window, in tokens.

    Attributes
    ----------
    too_long : list of (str, int)
    n_prompts, new_tokens, limit : int
    """

    _SHOWN = 5  # prompts named in the message; the rest are counted

    def __init__(
        self, *, too_long: Sequence[tuple[str, int]], n_prompts: int, new_tokens: int, limit: int
    ) -> None:
        self.too_long = [(str(label), int(n)) for label, n in too_long]
        self.n_prompts = int(n_prompts)
        self.new_tokens = int(new_tokens)
        self.limit = int(limit)
        super().__init__(
            "max_new_tokens",
            "{listed}{more}: with {new_tokens} new tokens it exceeds the model's context of "
            "{limit} tokens. Shorten the prompt or lower {param}",
            listed=self._listed(None),
            more=self._more(),
            new_tokens=self.new_tokens,
            limit=self.limit,
        )

    def _listed(self, prompt: str | None) -> str:
        shown = self.too_long[: self._SHOWN]
        if prompt is not None and len(self.too_long) == 1:
            shown = [(prompt, shown[0][1])]
        return "; ".join(f"{label} is {n} tokens" for label, n in shown)

    def _more(self) -> str:
        n = len(self.too_long)
        return f" ({n} of {self.n_prompts} are too long)" if n > 1 else ""

    def render(self, names: Mapping[str, str] | None = None, *, prompt: str | None = None) -> str:
        """The message with the front end's names; ``prompt`` names a single too-long
        prompt the front end's way (``"the conversation"``) instead of ``"prompt 0"``."""
        if prompt is None:
            return super().render(names)
        values = dict(self.values, listed=self._listed(prompt))
        return SettingError(self.param, self.template, **values).render(names)
