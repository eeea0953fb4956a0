"""Tests for the sans-IO Raft core (actors/raft): table tests, transcripts, and the seeded simulator."""
