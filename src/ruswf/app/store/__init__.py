"""Store adapters: the SQL layer beside the event store, recorders, fault
classification, the cipher, the token store and backup/restore."""
