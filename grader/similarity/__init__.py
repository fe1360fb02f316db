"""``grader similarity``: which submissions of a TP share code beyond what the course gives
(issue 22). A pipeline of small steps, one module each::

    tokens   a submission's source -> normalised tokens per top-level function or class
             (no comments, docstrings or layout; names and literals abstracted)
    winnow   tokens -> k-gram hashes -> winnowed fingerprints (the MOSS algorithm)
    pairs    fingerprints minus the starter's -> share of each one's own code in the other,
             per file and per function, for every pair through an inverted index
    report   similitud.html (pairs side by side, shared regions marked), similitud.csv, and the
             class report's section
    run      the command: read the folder as grading reads it, analyse, write

It is a list for people to review, never a verdict and never a grade change.
"""
