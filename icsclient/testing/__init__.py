"""Test helpers for icsclient users and its own tests: a throw-away PKI (and more)."""
