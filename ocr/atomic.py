"""Outputs are written to a temporary file beside the target and renamed over it: never half a file."""
import os
import tempfile
from pathlib import Path

UMASK = os.umask(0)
os.umask(UMASK)


def write_atomic(path, data) -> Path:
    """Write str or bytes to `path` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes it private; an output file should not be
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
