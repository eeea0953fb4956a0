"""Tests of scenario files and their runner: schema errors, shipped files, launcher, CLI, workloads, faults."""
