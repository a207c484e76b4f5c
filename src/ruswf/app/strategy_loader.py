"""Loads the strategy configuration: the shipped RUS 2030 file or `RUSWF_STRATEGY`."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from ruswf.domain.errors import StrategyConfigError
from ruswf.domain.strategy import Strategy
from ruswf.domain.strategy_file import parse_strategy

DEFAULT_STRATEGY = "rus2030.toml"


def load_strategy(path: Path | None = None) -> Strategy:
    """The strategy in `path`, or the shipped default; malformed files raise
    `StrategyConfigError` naming the file, the key and what is wrong."""
    if path is None:
        resource = resources.files("ruswf.strategies").joinpath(DEFAULT_STRATEGY)
        source = f"<ruswf>/strategies/{DEFAULT_STRATEGY}"
        raw = resource.read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise StrategyConfigError(source, "(file)", error.strerror or str(error)) from None
        except UnicodeDecodeError:
            raise StrategyConfigError(source, "(file)", "not UTF-8 text") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        raise StrategyConfigError(source, "(syntax)", str(error)) from None
    return parse_strategy(data, source)
