"""The adapter-neutral engine: commands, roles, round lifecycle, merging, CLI."""
