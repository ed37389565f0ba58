"""The one place exit codes live: what each kind of failure tells the shell."""

from papertrade import errors

EXIT_OK = 0
EXIT_FAILURE = 1  # anything else: read the message
EXIT_USAGE = 2  # bad input: fix the command
EXIT_TEMPORARY = 75  # EX_TEMPFAIL: a later run may succeed
EXIT_INTERRUPTED = 130


def exit_code_for(exc: Exception) -> int:
    if isinstance(exc, errors.InputError):
        return EXIT_USAGE
    if isinstance(exc, errors.TemporaryError):
        return EXIT_TEMPORARY
    return EXIT_FAILURE


def summary_code(codes: list[int]) -> int:
    """One exit status for many outcomes: permanent failures first, then bad input, then temporary."""
    for code in (EXIT_FAILURE, EXIT_USAGE, EXIT_TEMPORARY):
        if code in codes:
            return code
    return EXIT_OK
