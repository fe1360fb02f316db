"""The public surface of the package is small and pinned."""

import grader


def test_exported_members_are_pinned():
    assert grader.__all__ == ["Limits", "Status", "SubmissionResult", "__version__", "check"]
    assert grader.__all__ == sorted(grader.__all__)
