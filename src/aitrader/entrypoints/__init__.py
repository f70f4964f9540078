"""Entry points: configuration, the composition root, the CLI."""
