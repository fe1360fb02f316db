"""What runs inside the sandbox, and nothing else: this folder is copied whole into every worker
(as the package ``_graderrt``) and into the sandbox image.

- ``errors``: the exception tree both sides share (the worker raises ``ProtocolError``).
- ``protocol``: the data-only wire format (msgpack and binary arrays, never pickle).
- ``worker``: the process that imports the student's module and answers requests.

These modules import only each other, the standard library, numpy and msgpack (torch only where
a tensor crosses); ``tests/runtime/test_boundary.py`` pins that. Everything else of the grader is
trusted code that never enters the sandbox.
"""
