"""Talking to the forges the gate reports to (GitHub's pull-request comment).

Nothing here is imported unless a command asks for it: `check` on a developer's machine pays
for none of it.
"""
