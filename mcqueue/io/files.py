"""Files on disk, safely: every file mcqueue writes goes through ``write_atomic``; every job
file it reads goes through ``read_input`` (regular files only, decompressed size limited).

Atomic write: the data goes to a temporary file in the target's folder, is flushed and fsynced,
and replaces the target with ``os.replace`` (then the folder is fsynced). A failure or an
interruption at any point (disk full, file-size limit, Ctrl-C) removes the temporary file and
leaves the previous file as it was. A target that exists and is not a regular file (a terminal,
``/dev/null``, a pipe) is written directly: there is nothing to replace there.

Reading: only regular files are opened as job files (a FIFO, device, socket or directory is a
DataError naming it, never a block: the file is opened non-blocking and checked with fstat
before reading). Decompressed input is limited to ``max_bytes`` (default ``MAX_INPUT_BYTES``,
4 GiB, or ``$MCQUEUE_MAX_INPUT_BYTES``); gzip is decompressed in chunks, so a gzip bomb stops at
the limit with one error instead of filling memory.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import tempfile
import zlib
from pathlib import Path

from ..errors import DataError, UsageError, quote

MAX_INPUT_BYTES = 4 * 2**30  # 4 GiB of (decompressed) input per file
ENV_MAX_INPUT_BYTES = "MCQUEUE_MAX_INPUT_BYTES"
CHUNK = 1 << 20

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12,
          "tib": 2**40}


def parse_size(text: str | int, what: str = "size") -> int:
    """'4GiB', '500MB', '1048576' -> bytes (K/M/G/T and KiB/MiB/... are powers of 1024, KB/MB/...
    of 1000). UsageError naming ``what`` for anything else or a size < 1."""
    if isinstance(text, int) and not isinstance(text, bool):
        n = text
    else:
        s = str(text).strip().lower().replace(" ", "").replace("_", "")
        num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = s[len(num):]
        try:
            if unit not in _UNITS or not num or len(num) > 30:
                raise ValueError
            n = int(float(num) * _UNITS[unit]) if "." in num else int(num) * _UNITS[unit]
        except (ValueError, OverflowError):
            raise UsageError(f"{what} must be a number of bytes like 4GiB, 500MB or 1048576, "
                             f"got {quote(text)}") from None
    if n < 1 or n > 2**62:
        raise UsageError(f"{what} must be between 1 byte and 4 EiB, got {quote(text)}")
    return n


def max_input_bytes(explicit: int | None = None) -> int:
    """The input size limit: ``explicit``, else $MCQUEUE_MAX_INPUT_BYTES, else 4 GiB."""
    if explicit is not None:
        return parse_size(explicit, "--max-input-bytes")
    env = os.environ.get(ENV_MAX_INPUT_BYTES)
    if env:
        return parse_size(env, f"${ENV_MAX_INPUT_BYTES}")
    return MAX_INPUT_BYTES


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike, what: str = "job file"):
    """A binary file object on ``path``, which must be a regular file (DataError otherwise;
    ``what`` names the kind of file the messages ask for).

    Opened with O_NONBLOCK so that a FIFO with no writer cannot block the open itself.
    """
    shown = quote(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except IsADirectoryError:
        raise DataError(f"cannot read {shown}: it is a directory, not a {what}") from None
    except OSError as exc:
        raise DataError(f"cannot read {shown}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DataError(f"cannot read {shown}: it is {_kind(st.st_mode)}, not a regular "
                            f"file; give a {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _too_big(shown: str, limit: int, what: str) -> DataError:
    return DataError(f"cannot read {shown}: its {what} exceeds the input limit of {limit:,} "
                     f"bytes; raise it with --max-input-bytes or ${ENV_MAX_INPUT_BYTES}")


def read_input(path: str | os.PathLike, gz: bool | None = None,
               max_bytes: int | None = None, what: str = "job file") -> bytes:
    """The (decompressed) bytes of a regular file, at most ``max_bytes``.

    ``gz``: True to require gzip, None to detect it from the magic bytes, False for plain.
    ``what`` names the kind of file in the messages (a job file, a scenarios file).
    """
    limit = max_input_bytes(max_bytes)
    shown = quote(str(path))
    with open_regular(path, what) as fh:
        head = fh.read(2)
        is_gz = head == b"\x1f\x8b" if gz is None else (gz or head == b"\x1f\x8b")
        fh.seek(0)
        if not is_gz:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise _too_big(shown, limit, f"size ({size:,} bytes)")
            data = _read_at_most(fh, limit, shown)
            return data
        return _gunzip(fh, limit, shown)


def _read_at_most(fh, limit: int, shown: str) -> bytes:
    parts = []
    total = 0
    while True:
        try:
            chunk = fh.read(min(CHUNK, limit + 1 - total))
        except OSError as exc:
            raise DataError(f"cannot read {shown}: {exc.strerror or exc}") from None
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_big(shown, limit, "size")
    return b"".join(parts)


def _gunzip(fh, limit: int, shown: str) -> bytes:
    """Stream-decompress every gzip member of ``fh``, stopping as soon as ``limit`` is passed."""
    parts = []
    total = 0
    try:
        with gzip.GzipFile(fileobj=fh, mode="rb") as gzf:
            while True:
                chunk = gzf.read(min(CHUNK, limit + 1 - total))
                if not chunk:
                    break
                parts.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise _too_big(shown, limit, "decompressed size")
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {shown}: not a valid gzip file "
                        f"({quote(str(exc) or type(exc).__name__)})") from None
    return b"".join(parts)


# ------------------------------------------------------------------------------- writing
def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` are the same existing file (same device and inode: a symlink,
    hard link or another spelling of the path)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_not_input(output: str | os.PathLike, inputs, what: str = "--output") -> None:
    """UsageError when ``output`` is any of ``inputs`` (paths; None entries ignored)."""
    for src in inputs:
        if src is not None and same_file(output, src):
            raise UsageError(f"{what} {quote(str(output))} is the input file "
                             f"{quote(str(src))}: writing the report there would destroy it; "
                             "choose another file")


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` (str as UTF-8) to ``path`` atomically: all of it or, on any failure or
    interruption, nothing (the previous file untouched, no temporary file left).

    Raises OSError as the system reports it; a symlink is followed (the file it points to is
    replaced, the link kept).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(target, "wb") as fh:  # a terminal, /dev/null, a pipe: nothing to replace
            fh.write(data)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
