"""Local paper mode and the run's lifecycle as a demanding user drives them: the durable risk
commands, interruptions and what the journal then says."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli


@pytest.mark.parametrize("command", ["halt", "reduce", "kill"])
@pytest.mark.parametrize("reason", ["broker\noutage", "\x1b[31mred\x1b[0m", "tab\there",
                                    "line\u2028separator"])
def test_a_reason_with_control_characters_is_bad_input_and_changes_nothing(
    cli: Cli, command: str, reason: str
) -> None:
    # `risk status` prints the reason as it was journaled: a newline would forge a line of its
    # own, a terminal escape would act on whoever reads the state
    outcome = cli("risk", command, "--reason", reason, "--journal", cli.journal_url)
    assert outcome.code == 2
    assert "--reason" in outcome.error_line()
    assert not cli.db_path.exists()
