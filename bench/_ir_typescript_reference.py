"""TypeScript ground truth for bench/ir_accuracy.py: the compiler API, driven by bench/ts_reference/reference.js."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "ts_reference"
NPM_TIMEOUT_S = 300
NODE_TIMEOUT_S = 600


def npm_package(spec: str, into: Path) -> Path:
    """A package tarball from the npm registry (`npm pack NAME@VERSION`), unpacked; its root folder."""
    into.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", str(into)], check=True,
                            capture_output=True, text=True, timeout=NPM_TIMEOUT_S).stdout.split()[-1]
    unpacked = into / "unpacked"
    shutil.unpack_archive(into / packed, unpacked, filter="data")
    (top,) = unpacked.iterdir()
    return top


def compiler_answers(root: Path, paths: list[str], sites: int, seed: int) -> dict:
    """reference.js's answer: the compiler version, definitions and sampled go-to-definition sites."""
    if not (REFERENCE / "node_modules" / "typescript").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=REFERENCE, check=True,
                       timeout=NPM_TIMEOUT_S)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as request:
        json.dump({"root": str(root), "files": paths, "sites": sites, "seed": seed}, request)
        request.flush()
        output = subprocess.run(["node", str(REFERENCE / "reference.js"), request.name], check=True,
                                capture_output=True, text=True, timeout=NODE_TIMEOUT_S).stdout
    return json.loads(output)


def utf16_to_byte_column(line: bytes, character: int) -> int:
    """The UTF-8 byte column of a UTF-16 code-unit column on one line (the compiler counts UTF-16)."""
    text = line.decode("utf-8", errors="replace")
    units = 0
    for index, char in enumerate(text):
        if units >= character:
            return len(text[:index].encode("utf-8"))
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line)
