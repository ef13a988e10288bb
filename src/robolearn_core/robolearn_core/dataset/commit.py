"""Atomic multi-file commits for the dataset writer: a crash never leaves a saved episode half written.

Why: saving an episode rewrites several files (data, video, episodes metadata, tasks, stats, info). Each
new version is first written completely under the staging folder and fsynced; then one small journal
naming every (staged -> final) rename is written atomically; then the renames run and the journal is
removed. A crash before the journal exists leaves the dataset as it was (the episode in progress is
lost); a crash after it is finished by ``recover`` (roll forward), which the writer runs when it opens.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

STAGING_DIR = '.robolearn_staging'
JOURNAL = 'commit.json'


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def staging_dir(root: Path) -> Path:
    return root / STAGING_DIR


def journal_path(root: Path) -> Path:
    return staging_dir(root) / JOURNAL


def commit(root: Path, renames: list[tuple[Path, Path]]) -> None:
    """Move every staged file to its final place, all or nothing across a crash."""
    for staged, _ in renames:
        fsync_file(staged)
    journal = journal_path(root)
    tmp = journal.with_suffix('.tmp')
    entries = [[str(s.relative_to(root)), str(f.relative_to(root))] for s, f in renames]
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump({'renames': entries}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)
    fsync_dir(journal.parent)
    _apply(root, entries)
    journal.unlink()
    fsync_dir(journal.parent)


def _apply(root: Path, entries: list[list[str]]) -> None:
    dirs = set()
    for staged_rel, final_rel in entries:
        staged, final = root / staged_rel, root / final_rel
        if staged.exists():  # absent: already moved before an interruption
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            dirs.add(final.parent)
    for d in dirs:
        fsync_dir(d)


def pending(root: Path) -> bool:
    """True when a commit was interrupted and ``recover`` has not finished it yet."""
    return journal_path(root).is_file()


def recover(root: Path) -> bool:
    """Finish an interrupted commit (if any) and drop what the interrupted episode left; True if one was finished."""
    journal = journal_path(root)
    finished = False
    if journal.is_file():
        with open(journal, encoding='utf-8') as f:
            entries = json.load(f)['renames']
        _apply(root, entries)
        journal.unlink()
        finished = True
    shutil.rmtree(staging_dir(root), ignore_errors=True)
    return finished
