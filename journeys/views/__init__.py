"""Journeys pages, split by who uses them: members, moderators (schedule), email."""
