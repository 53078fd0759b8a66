"""Image manifests, verified downloads, the content-addressed cache, per-run overlays."""
