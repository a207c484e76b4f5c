"""The audit and compliance feature: ledger (hash chains), verify, signing, replay,
decision dossiers, exports and the erasable people registry."""
