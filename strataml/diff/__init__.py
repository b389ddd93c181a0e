"""`strataml diff`: what a change does to a workspace, against the revision it started from.

base.py   the workspace as the base revision holds it, and the doctor's findings there
compute.py  records, ledger entries, signatures, trust, metrics, gates, findings: one document
render.py   that document as text, markdown (a pull request's summary) or JSON
"""
