"""Operations around the calls: rating precision (and, later, HEP/HOMER, Prometheus).

Submodules are imported by name (``from labkit.ops import rating``); this package
re-exports nothing, so a new module here never slows the import of another.
"""
