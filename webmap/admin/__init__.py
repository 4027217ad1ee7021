"""Staff administration: bearer tokens and the staff API under /admin/api/."""
