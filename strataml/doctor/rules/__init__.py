"""The doctor's rules, one module per concern; each `check(ctx)` yields Findings."""

from strataml.doctor.rules import history, integrity, layout, ledgers, lineage, records, signatures, tracking

CHECKS = (layout.check, records.check, integrity.check, tracking.check, lineage.check, ledgers.check, history.check, signatures.check)
