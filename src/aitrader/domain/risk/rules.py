"""The shape every configured gate shares: a rule code, and one reason to refuse or none."""

from __future__ import annotations

from typing import ClassVar

from returns.result import Failure, Result, Success

from aitrader.domain.risk.gates import RiskContext, RiskRejection
from aitrader.domain.trading import OrderIntent

Verdict = Result[OrderIntent, RiskRejection]


class RuleGate:
    """A gate refusing with its `rule` code whenever `breach` says why.

    With `spares_reductions` an intent that only shrinks its position passes before `breach`
    is asked: a limit on growth must never trap a position. Subclasses are frozen attrs
    classes declaring `rule` with its stable code as default.
    """

    __slots__ = ()
    rule: str
    spares_reductions: ClassVar[bool] = False

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if self.spares_reductions and ctx.is_reducing(intent):
            return Success(intent)
        why = self.breach(intent, ctx)
        if why is None:
            return Success(intent)
        return Failure(RiskRejection(self.rule, why))

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        """Why this intent is refused (one line with the numbers), or None."""
        raise NotImplementedError
