"""Shared pieces: errors, reading sources, atomic writes, wording, strings. May import: nothing of ecrgen."""
