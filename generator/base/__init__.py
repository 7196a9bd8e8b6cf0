"""Small shared pieces: errors, reading sources, atomic writes, wording. Imports nothing of ecrgen."""
