"""Patch recipes, KERNCONF templates, build backends (native, cross, guest), build metadata and cache."""
