"""The one exception users see: a sentence naming the file and what to do; the CLI prints it and exits non-zero."""


class VitocrError(Exception):
    """An error the user can fix (bad file, wrong model folder...), reported without a traceback."""
