"""HTTP APIs: OGC API - Features and Tiles, landing page, OpenAPI document."""
