"""Parses Bicep files with pycep-parser and prints {path: parsed-or-error} as one JSON object.

Used by bicep.test.ts through the venv pytools.ts prepares; one process for every file keeps
the grammar load (about a second) to once per run.
"""

import json
import sys
from pathlib import Path

from pycep import BicepParser


def main(paths: list[str]) -> None:
    parser = BicepParser()
    out: dict[str, object] = {}
    for p in paths:
        try:
            out[p] = {"ok": True, "json": parser.parse(file_path=Path(p))}
        except Exception as error:  # noqa: BLE001 - every failure is reported per file
            out[p] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
