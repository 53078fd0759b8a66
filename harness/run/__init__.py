"""The pipeline of one run: run directories, collectors and the 1 s sampler, analysis of stored runs."""
