"""Helpers for the fault-injection tests (tests/test_faults*.py): a generated catalog and
small entry points run in subprocesses (the indexer and the service with the fake
embedders of tests/fakes.py), so a test can SIGKILL them at arbitrary points."""
