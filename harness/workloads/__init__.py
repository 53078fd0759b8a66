"""Workloads that make a kernel allocate stacks: a catalogue (data), jinja2 shell templates, small C programs."""
