"""Arithmetic over a device's metrics, e.g. ``chw_return_c - chw_supply_c``.

Expressions are parsed with Python's ``ast`` and only a small grammar is allowed: metric names,
numbers, + - * /, unary minus, parentheses and the functions abs, min, max and dewpoint(t, rh) (the
dew point in °C of air at t °C and rh % relative humidity). Evaluation works on numpy arrays (one
element per device), so a rule evaluates a whole batch at once.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.domain.errors import ValidationError

Array = npt.NDArray[np.float64]
MAX_EXPRESSION_LENGTH = 200

_BINARY: dict[type[ast.operator], Callable[[Array, Array], Array]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
}
_FUNCTIONS: dict[str, Callable[[Array, Array], Array]] = {"min": np.fmin, "max": np.fmax}
#: Magnus formula constants over water (Sonntag 1990): within about 0.1 K from −45 to 60 °C.
_MAGNUS_B = 17.62
_MAGNUS_C_DEGC = 243.12


def dewpoint(temperature_c: Array, relative_humidity_pct: Array) -> Array:
    """Dew point (°C) by the Magnus formula; NaN where the humidity is not above zero."""
    gamma = np.log(relative_humidity_pct / 100.0) + _MAGNUS_B * temperature_c / (
        _MAGNUS_C_DEGC + temperature_c
    )
    result: Array = _MAGNUS_C_DEGC * gamma / (_MAGNUS_B - gamma)
    return result


#: Functions with a fixed number of arguments, besides min and max that take any number.
_FIXED_ARITY: dict[str, int] = {"abs": 1, "dewpoint": 2}
#: The names an expression may call; they cannot name a metric.
FUNCTION_NAMES = frozenset({*_FIXED_ARITY, *_FUNCTIONS})


def _invalid(text: str, reason: str, field: str) -> ValidationError:
    return ValidationError(
        f"expression {text!r} is not allowed: {reason}", code="expression_invalid", field=field
    )


@dataclass(frozen=True, slots=True)
class Expression:
    text: str
    names: tuple[str, ...]
    _tree: ast.expr

    def evaluate(self, values: Mapping[str, Array]) -> Array:
        """The expression per element; NaN where an input is NaN or a division is by zero."""
        with np.errstate(divide="ignore", invalid="ignore"):
            result = _eval(self._tree, values)
        out = np.asarray(result, dtype=np.float64)
        out[~np.isfinite(out)] = np.nan
        return out


def _eval(node: ast.expr, values: Mapping[str, Array]) -> Array:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # parse() admits numbers only
        return np.asarray(float(node.value))
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        inner = _eval(node.operand, values)
        return np.negative(inner) if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(a, values) for a in node.args]
        if node.func.id == "abs":
            return np.abs(args[0])
        if node.func.id == "dewpoint":
            return dewpoint(args[0], args[1])
        result = args[0]
        for arg in args[1:]:
            result = _FUNCTIONS[node.func.id](result, arg)
        return result
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() rejects these


def parse_expression(text: str, *, field: str = "expr") -> Expression:
    """Parse and check an expression; errors name the field and what is wrong."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise _invalid(text[:40] + "…", f"longer than {MAX_EXPRESSION_LENGTH} characters", field)
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise _invalid(text, f"syntax error at column {exc.offset}", field) from exc
    names: list[str] = []
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in FUNCTION_NAMES:
                if id(node) not in called:
                    # As a value it would name no metric and fail only when evaluated.
                    raise _invalid(text, f"{node.id} is a function: write {node.id}(…)", field)
            elif node.id not in names:
                names.append(node.id)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise _invalid(text, f"{node.value!r} is not a number", field)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise _invalid(text, "only + - * / are allowed", field)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise _invalid(text, "only unary minus is allowed", field)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTION_NAMES:
                raise _invalid(
                    text, "only abs(), min() and max() may be called (and dewpoint(t, rh))", field
                )
            arity = _FIXED_ARITY.get(node.func.id)
            if node.keywords or not node.args or (arity is not None and len(node.args) != arity):
                raise _invalid(text, f"wrong arguments to {node.func.id}()", field)
        elif not isinstance(node, ast.operator | ast.unaryop | ast.expr_context):
            raise _invalid(text, f"{type(node).__name__} is not allowed", field)
    if not names:
        raise _invalid(text, "it names no metric", field)
    return Expression(text.strip(), tuple(names), tree)
