"""Results out: JSON, JUnit XML, self-contained HTML."""
