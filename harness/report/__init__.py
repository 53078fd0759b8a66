"""Results of a run as JSON, JUnit XML (one testcase per check) and a self-contained HTML report."""
