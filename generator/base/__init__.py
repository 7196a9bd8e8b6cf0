"""Small shared pieces: errors, reading sources, atomic writes, wording. May import: nothing of ecrgen."""
