"""The pure core: values, market data, trading records, signals, strategies, risk, metrics."""
