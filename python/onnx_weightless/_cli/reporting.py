"""What the command line prints besides its own results: a warning as one line, and none of
torch's internal log records."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from .._errors import FixedDimensionWarning

__all__ = ["command_line_reporting"]


@contextmanager
def command_line_reporting(prog: str) -> Iterator[None]:
    """Within: each warning prints as ``PROG: warning: Category: message`` on stderr, without the
    source line Python shows; torch's loggers print only CRITICAL records. torch logs the traceback
    of a failed trace step at ERROR, and the command reports that failure itself, in one line
    (ExportError carries torch's message). TORCH_LOGS still turns on the logs it names."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001 - warnings' signature
        print(f"{prog}: warning: {category.__name__}: {message}", file=file or sys.stderr)

    torch_logger = logging.getLogger("torch")
    level = torch_logger.level
    torch_logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            # Each time it occurs: Python shows a warning once per place by default.
            warnings.simplefilter("always", FixedDimensionWarning)
            warnings.showwarning = show
            yield
    finally:
        torch_logger.setLevel(level)
