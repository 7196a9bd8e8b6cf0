"""Every AWS call: reads, writes, retries, fan-out. May import: every stage below cli, and base."""
