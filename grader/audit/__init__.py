"""``grader audit TP``: how many wrong solutions do the TP's checks catch (issue 17).

The audit mutates the course's reference solution one small change at a time (``mutate``), drops
the mutants that behave exactly like the reference on the TP's probes (``oracle``, which runs them
in child processes), and grades the rest with the TP's checks: a mutant that still earns full
points is a gap in the checks.
"""
