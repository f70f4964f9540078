"""Use cases: the trading cycle, backtest and paper runners; talks only through ports."""
