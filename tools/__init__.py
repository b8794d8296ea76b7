"""Maintenance tools: generate student notebooks, execute chapters, benchmark."""
