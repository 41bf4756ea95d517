"""Folder and history rules: file names, versions, and what changed versus the base branch."""
