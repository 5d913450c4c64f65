"""`Pipeline.process_each`, what the service's workers and `scan` run: a group of files through
`process_many`, and should the group fail unexpectedly (a bug), each file alone, so one odd file
never stops the others. The bug is a real reader's answer made wrong for one file, handed to the
Pipeline as its `read`."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from configs import make_config
from photos import GPS_JPEGS, copy_corpus
from trees import file_names

from geolocator.core import Core
from geolocator.folders import Folders
from geolocator.locate.metadata import read_metadata
from geolocator.pipeline import Pipeline
from geolocator.record import PhotoMetadata, Status
from geolocator.record.store import Store, load_records


def test_a_bug_on_one_file_of_a_group_leaves_it_in_the_inbox_and_files_the_others(tmp_path, corpus, caplog):
    config = make_config(tmp_path)
    Folders.from_config(config).create()
    sources = [copy_corpus(name, config.paths.inbox / f"{n}.jpg") for n, name in enumerate(GPS_JPEGS[:3])]
    odd = sources[1]

    def read(path: Path) -> PhotoMetadata:
        metadata = read_metadata(path)
        return dataclasses.replace(metadata, taken_at=12345) if path == odd else metadata  # a date of the wrong type

    with caplog.at_level(logging.INFO), Store(config.paths.database) as store:
        pipeline = Pipeline(Core.build(config, store), read=read)
        outcomes = pipeline.process_each(sources)
        pipeline.flush()
        assert [o.source for o in outcomes] == sources and all(o.waiting is None for o in outcomes)
        assert outcomes[1].record is None
        assert [o.record.status for o in (outcomes[0], outcomes[2])] == [Status.LOCATED, Status.LOCATED]
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert messages == ["processing a group of 3 files failed unexpectedly; each is tried alone", f"processing {odd} failed unexpectedly; it stays in the inbox"]
    assert file_names(config.paths.inbox) == ["1.jpg"] and len(file_names(config.paths.library)) == 2
    on_disk = load_records(config.paths.database)
    assert len(on_disk) == 2 and not any(r.moving_from for r in on_disk.values())
