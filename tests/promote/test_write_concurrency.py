"""Two processes promoting one FILE at once (dev->staging and staging->prod): the second either
refuses ("the file changed") or writes on top of the first; no edit reported written is lost (audit
finding concurrency-2). Real processes: the race is between one's check and the other's rename(2)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlops_infra.errors import UserError
from mlops_infra.promote.promote import write_promotion

pytestmark = pytest.mark.timeout(120)
EDITS = 60


def _promote_many(file: str, name: str, start: multiprocessing.synchronize.Event, results: multiprocessing.Queue) -> None:
    path = Path(file)
    written = refused = 0
    start.wait(30)
    for number in range(EDITS):
        while True:
            original = path.read_bytes()  # what the promotion was computed from
            edit = SimpleNamespace(changed=True, edit=SimpleNamespace(after=original.decode() + f"{name}: {number}\n"))
            try:
                written += write_promotion(path, edit, original)
                break
            except UserError as error:
                assert "the file changed while the promotion was computed" in error.summary
                refused += 1  # "Run the promotion again."
    results.put((name, written, refused))


def test_every_edit_reported_written_is_in_the_file(tmp_path):
    file = tmp_path / "mlsystem.yaml"
    file.write_text("")
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_promote_many, args=(str(file), name, start, results))
               for name in ("staging", "prod")]
    for worker in workers:
        worker.start()
    start.set()
    reported = dict((name, written) for name, written, _ in (results.get(timeout=100) for _ in workers))
    for worker in workers:
        worker.join(30)
    assert [w.exitcode for w in workers] == [0, 0]
    lines = file.read_text().splitlines()
    assert reported == {"staging": EDITS, "prod": EDITS}
    for name in ("staging", "prod"):
        assert [line for line in lines if line.startswith(name)] == [f"{name}: {n}" for n in range(EDITS)]
    assert [p.name for p in tmp_path.iterdir()] == ["mlsystem.yaml"]  # no lock or temporary file left
