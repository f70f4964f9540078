"""The market data layer: vendor chains, the gate, sessions, gaps, cross-checks, streams."""
