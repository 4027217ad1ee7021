"""Map images drawn server side (OGC API - Maps), for reports and case files."""
