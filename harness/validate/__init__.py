"""Observed vs predicted: checks with tolerances, verdicts with invariant ids and reasons."""
