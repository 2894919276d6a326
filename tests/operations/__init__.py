"""Operations: full and incremental passes, the check, missing accounts, status."""
