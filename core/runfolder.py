"""Run folders as transactions: stage, verify, commit by rename, and an id that is the folder's own.

Why: a run folder is the cache *and* the hand-off between stages, so a half-written one is worse
than none — a later stage would read a new ``depth.npy`` next to an old ``observation.json`` and
carry on. So every stage

* computes into ``<run>/.staging-<stage>-<pid>-<random>/`` and touches nothing committed while it
  works (a failed, cancelled or killed stage leaves the previous result as it was);
* commits by ``os.replace`` of each staged entry (a staged folder such as ``masks/`` replaces the
  old one whole) only after the whole stage succeeded;
* records in ``stages.json`` each stage's cache key, the sha256 of every file it committed and of
  every run-folder file it read (its inputs), so a cached file that was truncated, replaced or
  edited by hand is noticed before it is reused, and a stage whose input changed is stale.

A crash in the middle of a commit is detected, not prevented: ``stages.json`` is first rewritten
with ``"state": "committing"`` and the *new* hashes, then the files move, then the state becomes
``"committed"``. Whatever the crash left, the next reader finds files that disagree with the
record (or the ``committing`` state) and recomputes (perceive) or refuses (match).

``run.json`` holds a uuid made once per folder; :func:`run_id` is what a Blender collection is
bound to, so renaming or recreating a folder never mixes two runs up.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from .errors import BadInputError

STAGES_FILE = "stages.json"
RUN_FILE = "run.json"
FORMAT = 2
STAGING_PREFIX = ".staging-"
OBSERVATION_STAGES = ("image", "depth", "detections", "observation")  # what perceive commits together
_FOLDER_FIX = "Give a run folder you can write to (--out on the command line; Preferences → Runs folder in Blender)."


def stage_key(*parts: Any) -> str:
    """A cache key from JSON-able parts (settings dataclasses go through ``vars``/``str``)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def folder_error(path: Path, exc: OSError, doing: str, *, mid_commit: bool = False) -> BadInputError:
    """An OSError while writing the run folder as a typed error that names the path and the cause."""
    if exc.errno == errno.ENOSPC:
        return BadInputError(f"No space left on the disk while {doing} in run folder {path}.",
                             "Free some disk space and retry.")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        if not path.exists():
            parent = next((p for p in path.parents if p.exists()), path.parent)
            return BadInputError(f"Cannot create the run folder {path}: {parent} is read-only (permission denied).",
                                 _FOLDER_FIX)
        what = "is read-only (permission denied)"
    elif exc.errno == errno.ENAMETOOLONG:
        what = "would get a file name that is too long"
    elif isinstance(exc, (NotADirectoryError, FileExistsError)):
        what = "is inside a file, not a folder"
    else:
        what = f"cannot be written ({exc.strerror or exc})"
    after = ("the next run finds the half-written stage by its hashes and redoes it" if mid_commit
             else "nothing committed in it was changed")
    return BadInputError(f"Run folder {path} {what} while {doing}; {after}.", _FOLDER_FIX)


def check_run_path(run_dir: str | os.PathLike[str]) -> Path:
    """Reject a run-folder path that can never work, before anything is computed or written.

    A path naming a file, or one below a file, is an error; a missing folder is fine (it is made
    at the first commit). Nothing is created here.
    """
    path = Path(run_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise BadInputError(f"The run folder {path} is a file, not a folder.",
                            "Give a folder path for the run (it is created if missing), not an existing file.")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise BadInputError(f"The run folder {path} lies inside {parent}, which is a file.",
                                    "Give a folder path for the run, not one inside a file.")
            break
    return path


@dataclass
class StageRecord:
    """What ``stages.json`` knows about one committed stage."""

    key: str
    files: dict[str, str] = field(default_factory=dict)   # run-relative path → sha256
    inputs: dict[str, str] = field(default_factory=dict)  # run-folder files it read → their sha256 then

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "files": dict(self.files), "inputs": dict(self.inputs)}

    @classmethod
    def from_dict(cls, data: Any) -> StageRecord | None:
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        files, inputs = data.get("files", {}), data.get("inputs", {})
        if not all(isinstance(d, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in d.items())
                   for d in (files, inputs)):
            return None
        return cls(data["key"], dict(files), dict(inputs))


class RunFolder:
    """A run folder's committed state: which stages are there, and whether their files are intact.

    ``notes`` collects what was found wrong with the folder itself (an unreadable or older
    ``stages.json``, an interrupted commit) for the stage to pass on to the user.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = check_run_path(path)
        self.notes: list[str] = []
        self.state: str | None = None
        self.records: dict[str, StageRecord] = {}
        self.created = False
        self._hash_cache: dict[str, str | None] = {}
        self._read()

    # ---- reading -------------------------------------------------------------------------
    def _read(self) -> None:
        path = self.path / STAGES_FILE
        if not path.is_file():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            self.notes.append(f"{STAGES_FILE} was unreadable; every stage is recomputed.")
            self.state = "unreadable"
            return
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("stages"), dict):
            self.notes.append(f"{STAGES_FILE} was written by an older version (no file hashes); "
                              "every stage is recomputed.")
            self.state = "legacy"
            return
        self.state = str(data.get("state"))
        if self.state == "committing":
            self.notes.append("the previous run was interrupted while committing; its files are checked "
                              "against their hashes.")
        for name, rec in data["stages"].items():
            parsed = StageRecord.from_dict(rec)
            if parsed is not None:
                self.records[str(name)] = parsed

    def current_hash(self, rel: str) -> str | None:
        """sha256 of a committed file (None if absent); memoised for one reader's lifetime."""
        if rel not in self._hash_cache:
            p = self.path / rel
            try:
                self._hash_cache[rel] = sha256_file(p) if p.is_file() else None
            except OSError:
                self._hash_cache[rel] = None
        return self._hash_cache[rel]

    def problems(self, stage: str) -> list[str]:
        """Why the stage's committed files cannot be trusted (empty: intact and its inputs unchanged)."""
        rec = self.records.get(stage)
        if rec is None:
            return [f"no committed '{stage}' stage"]
        out = []
        for rel, sha in sorted(rec.files.items()):
            now = self.current_hash(rel)
            if now is None:
                out.append(f"{rel} is missing")
            elif now != sha:
                out.append(f"{rel} does not match its recorded sha256 (truncated, replaced or edited)")
        for rel, sha in sorted(rec.inputs.items()):
            if self.current_hash(rel) != sha:
                out.append(f"its input {rel} changed since it ran")
        return out

    def cached(self, stage: str, key: str) -> tuple[bool, str | None]:
        """(reusable?, note): a note only when the key matched but the files failed their check."""
        rec = self.records.get(stage)
        if rec is None or rec.key != key:
            return False, None
        probs = self.problems(stage)
        if probs:
            return False, f"cached {stage} stage not reused: {probs[0]}; recomputed."
        return True, None

    def require(self, stages: Iterable[str], *, rerun_fix: str) -> list[str]:
        """For a stage that reads others' output: raise if any is missing or inconsistent.

        A folder without ``stages.json`` at all (assembled by hand or by another tool) is read
        with a note instead, since there is nothing to check it against.
        """
        stages = list(stages)
        if self.state in ("unreadable", "legacy"):
            raise BadInputError(f"Run folder {self.path}: {self.notes[-1]}", rerun_fix)
        if self.state != "committing" and not any(s in self.records for s in stages):
            return [f"{self.path} has no record of the {', '.join(stages)} stage(s) in {STAGES_FILE}: "
                    "their files are used as they are, unchecked."]
        for stage in stages:
            probs = self.problems(stage)
            if probs:
                when = " (a run was interrupted while committing)" if self.state == "committing" else ""
                raise BadInputError(f"Run folder {self.path} is inconsistent{when}: {stage} stage — "
                                    + "; ".join(probs[:3]) + ".", rerun_fix)
        return []

    # ---- writing -------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the folder (and parents) now; remembers whether it was new, to undo on failure."""
        if self.path.is_dir():
            return
        try:
            self.path.mkdir(parents=True)
            self.created = True
        except FileExistsError:
            if not self.path.is_dir():
                raise BadInputError(f"The run folder {self.path} is a file, not a folder.", _FOLDER_FIX) from None
        except OSError as exc:
            raise folder_error(self.path, exc, "creating the folder") from None

    def discard_if_new(self) -> None:
        """After a failure: remove the folder if this run made it and nothing else is in it."""
        if self.created:
            try:
                self.path.rmdir()
            except OSError:
                pass
            self.created = False

    def begin(self, stage: str) -> Transaction:
        self.ensure()
        clear_stale_staging(self.path)
        return Transaction(self, stage)


class Transaction:
    """Files of one or more stages staged beside the run, committed together or not at all.

    Use as a context manager: leaving it without :meth:`commit` (an exception, a cancel) removes
    the staging folder and changes nothing committed.
    """

    def __init__(self, run: RunFolder, name: str) -> None:
        self.run = run
        self.dir = run.path / f"{STAGING_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self.dir.mkdir()
        except OSError as exc:
            raise folder_error(run.path, exc, f"starting the {name} stage") from None
        self._put: dict[str, tuple[str, list[str], list[str]]] = {}
        self._drop: set[str] = set()
        self.committed = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.committed:
            shutil.rmtree(self.dir, ignore_errors=True)

    def file(self, rel: str) -> Path:
        """Where to write run-relative ``rel`` now; it appears in the run folder at commit."""
        p = self.dir / rel
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise folder_error(self.run.path, exc, f"staging {rel}") from None
        return p

    def folder(self, rel: str) -> Path:
        """A staged folder that replaces the committed one of that name whole (even when left empty)."""
        p = self.dir / rel
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise folder_error(self.run.path, exc, f"staging {rel}") from None
        return p

    def put(self, stage: str, key: str, files: Iterable[str], inputs: Iterable[str] = ()) -> None:
        """Declare a stage computed here: its staged files (run-relative) and the run files it read."""
        self._put[stage] = (key, list(files), list(inputs))

    def drop(self, *stages: str) -> None:
        """Forget stages this commit makes stale (their files stay but are no longer vouched for)."""
        self._drop.update(stages)

    def commit(self, last: Iterable[str] = ()) -> None:
        """Move every staged entry into the run folder; ``last`` names files to move after the rest.

        Committed stages not put or dropped here are carried over unchanged (a stage that read files this
        commit replaces is then stale by its recorded ``inputs``).
        """
        run = self.run
        records = {k: v for k, v in run.records.items() if k not in self._drop}
        for stage, (key, files, inputs) in self._put.items():
            hashes = {}
            for rel in files:
                staged = self.dir / rel
                if staged.is_file():
                    hashes[rel] = sha256_file(staged)
                else:
                    raise RuntimeError(f"stage {stage} declared {rel} but did not stage it")
            ins = {}
            for rel in inputs:
                staged = self.dir / rel
                h = sha256_file(staged) if staged.is_file() else run.current_hash(rel)
                if h is not None:
                    ins[rel] = h
            records[stage] = StageRecord(key, hashes, ins)
        entries = list(self.dir.iterdir())
        last = list(last)
        ordered = sorted(entries, key=lambda p: (not p.is_dir(), p.name in last, p.name))
        try:
            _write_stages(run.path, records, "committing", self.dir)
            for src in ordered:
                dst = run.path / src.name
                if src.is_dir():
                    if dst.is_dir() and not dst.is_symlink():
                        os.replace(dst, self.dir / f".old-{src.name}")
                    elif dst.exists() or dst.is_symlink():
                        dst.unlink()
                os.replace(src, dst)
            ensure_run_id(run.path)
            _write_stages(run.path, records, "committed", self.dir)
        except OSError as exc:
            raise folder_error(run.path, exc, "committing the results", mid_commit=True) from None
        run.records, run.state, run._hash_cache = records, "committed", {}
        self.committed = True
        shutil.rmtree(self.dir, ignore_errors=True)


def _write_stages(run: Path, records: dict[str, StageRecord], state: str, tmp_dir: Path) -> None:
    data = {"format": FORMAT, "state": state, "stages": {k: v.to_dict() for k, v in sorted(records.items())}}
    tmp = tmp_dir / f".{STAGES_FILE}.{state}.tmp"
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, run / STAGES_FILE)


def clear_stale_staging(run: Path) -> None:
    """Remove staging folders left by processes that no longer exist (killed mid-stage)."""
    try:
        entries = list(run.glob(STAGING_PREFIX + "*"))
    except OSError:
        return
    for entry in entries:
        try:
            pid = int(entry.name[len(STAGING_PREFIX):].split("-")[-2])
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_run_id(run_dir: str | os.PathLike[str]) -> str:
    """The folder's id, making ``run.json`` once if it is missing (atomic create-if-absent)."""
    run = Path(run_dir)
    path = run / RUN_FILE
    if path.is_file():
        return _read_run_id(path)
    data = {"run_id": uuid.uuid4().hex, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    tmp = run / f".{RUN_FILE}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise folder_error(run, exc, f"writing {RUN_FILE}") from None
    return _read_run_id(path)


def run_id(run_dir: str | os.PathLike[str]) -> str:
    """The run folder's own id (a uuid hex string), created on first use; bind collections to this."""
    run = check_run_path(run_dir)
    if not run.is_dir():
        raise BadInputError(f"Run folder {run} does not exist.", "Run perception first to create it.")
    return ensure_run_id(run)


def _read_run_id(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        value = data["run_id"]
        uuid.UUID(hex=value)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise BadInputError(f"{path} is not a readable run id file.",
                            f"Delete {path.name} to give the folder a new id (Blender will treat it as a new run).") \
            from None
    return str(value)
