"""End-to-end tests against a real Open WebUI (marker: openwebui; browser test: browser)."""
