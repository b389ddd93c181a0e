"""The doctor's rules, one module per concern; each `check(ctx)` yields Findings."""

from strataml.doctor.rules import history, integrity, layout, ledgers, lineage, records, signatures, tracking

# Integrity last: it waits for the background hashing, which the other rules' work overlaps.
CHECKS = (layout.check, records.check, tracking.check, lineage.check, ledgers.check, history.check, signatures.check, integrity.check)
