"""Tests of the DNS interface (``actors/dns``): name forms, health, limits, bad input, recursors, load."""
