"""The doctor's rules, one module per concern; each `check(ctx)` yields Findings."""

from strataml.doctor.rules import history, integrity, layout, ledgers, lineage, records, signatures, tracking

# Integrity late: it waits for the background hashing, which the rules before it overlap.
# Tracking after it: git's listings of 100,000 paths are tens of MB that should not add to
# the hashes still being collected (the peak memory of a large run).
CHECKS = (
    layout.check,
    records.check,
    lineage.check,
    ledgers.check,
    history.check,
    signatures.check,
    integrity.check,
    tracking.check,
)
