"""The pipeline of one run: RunDir layout, collectors, sampler."""
