"""Consultation comments (SPEC §7): checked, stored once per key, moderated, exported."""
