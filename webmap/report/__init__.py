"""The response report of a consultation (SPEC §11): one collection of its data, three writers."""
