"""Command-line options shared by the command modules (one definition, one help text)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def given_path(value: str | Path) -> Path:
    """A path option's value; an empty one is refused (it would read as ".", the working
    directory: `--out ""` wrote the CSVs there)."""
    if isinstance(value, Path):
        return value
    if not value.strip():
        raise typer.BadParameter("empty: give a path")
    return Path(value)


Param = Annotated[list[str] | None, typer.Option("--param", help="Strategy parameter name=value (repeatable).")]
Symbols = Annotated[str | None, typer.Option("--symbols", help="Comma-separated symbols (default: all in the data).")]
Start = Annotated[str | None, typer.Option("--start", help="First day (YYYY-MM-DD, US-Eastern) or ISO datetime.")]
End = Annotated[str | None, typer.Option("--end", help="Last day, inclusive, or ISO datetime (exclusive).")]
Data = Annotated[Path | None, typer.Option("--data", parser=given_path, help="CSV/Parquet file or directory (default: bundled sample).")]
BarLabel = Annotated[str | None, typer.Option("--bar-label", help="Timestamps label the bar's open or close.")]
Timeframe = Annotated[str | None, typer.Option("--timeframe", help="Expected timeframe: 1m, 5m, 15m, 1h, 1D.")]
Vendor = Annotated[str | None, typer.Option("--vendor", help="Fetch bars from a vendor (chain A,B) instead of --data: alpaca, alphavantage, finnhub, twelvedata, yahoo, sample, files.")]
Calendar = Annotated[str | None, typer.Option("--calendar", help="Exchange calendar: XNYS (default) or 24/7.")]
ConfigFile = Annotated[Path | None, typer.Option("--config", parser=given_path, help="YAML configuration file.")]
JournalUrl = Annotated[str | None, typer.Option("--journal", help="Journal URL (sqlite:///path or postgresql+psycopg://...).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress, only the result.")]
