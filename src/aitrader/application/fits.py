"""Counting the model fits a run did and refused, so that its result says so, not only its log.

Light on purpose (attrs only): `runs show` formats a journaled count without loading the
models' numerical libraries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

MODELS = ("kalman", "hmm", "garch")
"""The fitted models, in the order reports list them."""


@attrs.frozen
class FitRefusal:
    """A fit refused or failed: the model, the symbol, the bar its parameters would have applied
    from (an index into that symbol's bars), the fitter's stable code and its message."""

    model: str
    symbol: str
    bar: int
    code: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "bar": self.bar, "code": self.code, "detail": self.detail}


@attrs.define
class FitTally:
    """Fits done and refused per model, as fitting goes; `report()` is the run's record.

    `models` are the models the strategy has fitted: each is reported, even with no fit."""

    models: tuple[str, ...] = ()
    fitted: dict[str, int] = attrs.field(factory=dict)
    refusals: list[FitRefusal] = attrs.field(factory=list)

    def done(self, model: str) -> None:
        self.fitted[model] = self.fitted.get(model, 0) + 1

    def refused(self, model: str, symbol: str, bar: int, code: str, detail: str) -> None:
        self.refusals.append(FitRefusal(model, symbol, bar, code, detail))

    def report(self) -> dict[str, Any]:
        """{model: {"fitted": n, "refused": m, "refusals": [{symbol, bar, code, detail}]}}
        for each model the strategy reads (and any model fitted or refused), in MODELS order."""
        named = set(self.models) | set(self.fitted) | {r.model for r in self.refusals}
        return {model: {"fitted": self.fitted.get(model, 0),
                        "refused": sum(r.model == model for r in self.refusals),
                        "refusals": [r.to_dict() for r in self.refusals if r.model == model]}
                for model in MODELS if model in named}


def refused_line(report: Mapping[str, Any] | None) -> str | None:
    """'model fits refused: hmm 5 of 16' from a tally's report, or None if none was refused."""
    parts = [f"{model} {entry['refused']} of {entry['fitted'] + entry['refused']}"
             for model, entry in _in_order(report) if entry.get("refused")]
    return f"model fits refused: {', '.join(parts)}" if parts else None


def fits_line(report: Mapping[str, Any] | None) -> str:
    """'hmm 11 fitted, 5 refused; garch 16 fitted, 0 refused' from a tally's report ('none'
    when the strategy reads no fitted model)."""
    parts = [f"{model} {entry.get('fitted', 0)} fitted, {entry.get('refused', 0)} refused"
             for model, entry in _in_order(report)]
    return "; ".join(parts) or "none"


def _in_order(report: Mapping[str, Any] | None) -> list[tuple[str, Mapping[str, Any]]]:
    """The report's models in MODELS order (a journal may hand its keys back sorted)."""
    entries = report or {}
    return [(model, entries[model]) for model in MODELS
            if isinstance(entries.get(model), Mapping)]
