"""Regression triage: compare two run directories (``harness compare``), bisect a source tree (``harness bisect``)."""
