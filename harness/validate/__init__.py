"""Observed vs predicted: checks with tolerances, and a verdict per check (pass / fail / inconclusive)."""
