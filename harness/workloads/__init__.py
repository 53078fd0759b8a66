"""Workload catalogue: jinja2 shell templates and small C programs compiled in the guest."""
