"""Reading a scenario file: TOML text -> checked `Scenario`, or a `ScenarioError` listing every problem.

What lives here: `load_scenario(path)` and `parse_scenario(text, filename, syntax)`. The order is: TOML
syntax (tomllib's own line and column) or YAML syntax (PyYAML's safe loader, with its line and column),
then the shape of every section against the Structs (``shape.py``), then cross-references and values
(``validate.py``); each problem gets a line number when ``lines.py`` can find one. Files ending in
``.yaml``/``.yml`` are YAML, everything else TOML; both describe the same structure.

What must never live here: running anything, or defaults (they are on the Structs).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import msgspec.inspect as mi

from .lines import line_of
from .problems import Problem, ScenarioError
from .schema import Scenario
from .shape import shape_problems
from .validate import validate


def _with_lines(text: str, problems: list[Problem]) -> list[Problem]:
    return [p if p.line else Problem(p.path, p.message, line_of(text, p.path)) for p in problems]


def _read_yaml(text: str, filename: str) -> object:
    import yaml  # imported only for YAML files

    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: an int over 4300 digits
        raise ScenarioError(filename, [Problem((), f"not valid YAML: {exc or type(exc).__name__}")]) from None
    if not isinstance(data, dict):
        raise ScenarioError(filename, [Problem((), "a YAML scenario must be a mapping at the top level")])
    return data


def parse_scenario(text: str, filename: str = "<scenario>", syntax: str = "toml") -> Scenario:
    if syntax == "yaml":
        data = _read_yaml(text, filename)
    else:
        try:
            data = tomllib.loads(text)
        except ValueError as exc:  # TOMLDecodeError, or int() refusing a number over 4300 digits
            raise ScenarioError(filename, [Problem((), f"not valid TOML: {exc}")]) from None
    problems = shape_problems(data, mi.type_info(Scenario))
    if problems:
        raise ScenarioError(filename, _with_lines(text, problems))
    try:
        scenario = msgspec.convert(data, Scenario)
    except msgspec.ValidationError as exc:  # the shape walk should have caught it; say it anyway
        raise ScenarioError(filename, [Problem((), str(exc))]) from None
    problems = validate(scenario)
    if problems:
        raise ScenarioError(filename, _with_lines(text, problems))
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), [Problem((), f"cannot read the file: {exc.strerror or exc}")]) from None
    syntax = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "toml"
    return parse_scenario(text, str(path), syntax)
