"""The doctor's rules, one module per concern; each `check(ctx)` yields Findings."""

from strataml.doctor.rules import integrity, layout, lineage, records

CHECKS = (layout.check, records.check, integrity.check, lineage.check)
