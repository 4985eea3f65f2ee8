"""Importing case-system exports: sniffing, CSV and XLSX reading, CPR screening, value
conversion and header search (the pure parser, :mod:`.parser`), and the import pipeline that
stores a file as a snapshot (:mod:`.pipeline`). Errors are codes with parameters (:mod:`.errors`).
"""
