"""howsure.core: what every other part of howsure shares; it imports nothing of howsure.

``version``
    :data:`__version__`, the one place the package version is written.
``files``
    The cache folder and atomic writes (:func:`staged_files`, :func:`staged_folder`).
``checks``
    Scalar argument checks on scikit-learn's :func:`~sklearn.utils.check_scalar`.
``errors``
    Typed errors of bad settings (:class:`SettingError` with the parameter's name,
    :class:`ContextLengthError`), which each front end words with its own names.
``state``
    The ``(arrays, params)`` state format of every fitted object (no pickle).
``rows``
    One reader for JSON Lines, JSON, CSV and Parquet rows.
``figures``
    Off-screen matplotlib figures, imported lazily.
``padding``
    Padding token-id rows into one batch.
``lazy``
    Public names imported on first use, for every package's ``__init__``.
"""

from __future__ import annotations

from howsure.core.lazy import lazy_exports
from howsure.core.version import __version__

_EXPORTS = {
    "ContextLengthError": "howsure.core.errors",
    "SettingError": "howsure.core.errors",
    "SettingTypeError": "howsure.core.errors",
    "STATE_FORMAT_VERSION": "howsure.core.state",
    "TABLE_SUFFIXES": "howsure.core.rows",
    "cache_dir": "howsure.core.files",
    "check_arrays": "howsure.core.state",
    "check_choice": "howsure.core.checks",
    "check_int": "howsure.core.checks",
    "check_probability": "howsure.core.checks",
    "check_real": "howsure.core.checks",
    "json_default": "howsure.core.state",
    "new_figure": "howsure.core.figures",
    "pad_rows": "howsure.core.padding",
    "read_params": "howsure.core.state",
    "read_rows": "howsure.core.rows",
    "save_figure": "howsure.core.figures",
    "staged_files": "howsure.core.files",
    "staged_folder": "howsure.core.files",
    "state_params": "howsure.core.state",
    "to_jsonable": "howsure.core.state",
    "write_text_atomic": "howsure.core.files",
}

__all__ = ["__version__", "lazy_exports", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
