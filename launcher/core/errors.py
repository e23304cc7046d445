"""Errors the CLI turns into one clear line and a non-zero exit."""

from __future__ import annotations


class DdbS3Error(Exception):
    """A failure the user can act on. The message names the thing and what to do."""

    exit_code = 1


class BadInput(DdbS3Error):
    """The request itself is wrong (validated before anything is created)."""

    exit_code = 2


class IncompleteExport(DdbS3Error):
    """An export without its summary manifest, or whose files disagree with it."""

    exit_code = 3
