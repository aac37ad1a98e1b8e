"""Seeded mutation fuzzers for the parsers of received data (see :mod:`tests.fuzz.harness`)."""
