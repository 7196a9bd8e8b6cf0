"""Small shared pieces: errors, reading sources, atomic writes, wording, walking strings. May import: nothing of ecrgen."""
