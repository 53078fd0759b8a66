"""Guest kinds: one registered object per kind of guest (``base.GuestKind``), looked up by ``registry.select``.

A guest kind says how a run on it is prepared, booted into a session, analysed, how its crashes are found, which
``--model`` keys it accepts and which ``harness run`` options apply to it. The pipeline and the CLI ask the
registry; adding a guest kind is one module here plus one line in ``registry.py``.
"""
