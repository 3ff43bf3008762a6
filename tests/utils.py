"""Shared test constants."""

SEED = 42
