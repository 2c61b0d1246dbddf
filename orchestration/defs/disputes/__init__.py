"""Dispute & hotline system (REST API or JSON-lines export): cases and 12351 requests."""
