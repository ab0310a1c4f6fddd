"""Camera faults end cleanly: damaged videos, dead live sources, runs that must end.

Every test here bounds its own time: retry limits and back-off are set small.
The unreachable URL is on the loopback interface (port 9, discard: nothing
listens there), so no test reaches another machine.
"""

import json
import time

import cv2
import numpy as np
import pytest
import supervision as sv
from stream_helpers import drain

from mlfn_keras.tracking.app import sources
from mlfn_keras.tracking.app.runner import NoFramesError, RunOptions, run_multicam
from mlfn_keras.tracking.app.sources import CameraStream, SourceSpec, parse_cam

DEAD_URL = "rtsp://127.0.0.1:9/x"


def _noise_video(path: str, n: int, size=(64, 48)) -> None:
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    assert writer.isOpened()
    for _ in range(n):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()


def _damage(path: str, start: float, stop: float) -> None:
    data = bytearray(open(path, "rb").read())
    a, b = int(len(data) * start), int(len(data) * stop)
    data[a:b] = b"\xff" * (b - a)
    open(path, "wb").write(bytes(data))


def _good_frames(path: str) -> int:
    cap = cv2.VideoCapture(path)
    n = sum(cap.read()[0] for _ in range(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) + 5))
    cap.release()
    return n


def test_damage_in_the_middle_of_an_mp4_is_skipped_and_counted(tmp_path):
    path = str(tmp_path / "damaged.mp4")
    _noise_video(path, 60)
    _damage(path, 0.35, 0.6)  # some 20 frames in a row fail to decode
    readable = _good_frames(path)
    assert 0 < readable < 50  # the damage is real and longer than a few frames
    stream = CameraStream(parse_cam(path)).start()
    packets = drain(stream)
    stream.stop()
    assert stream.finished
    assert len(packets) == readable  # the frames after the damage are read too
    assert packets[-1].index == 59  # numbering keeps counting the lost frames
    assert stream.stats.corrupt_skipped == 60 - readable


def _wait_finished(stream: CameraStream, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not stream.finished and time.monotonic() < deadline:
        time.sleep(0.01)


def test_dead_url_gives_up_by_default_after_a_documented_limit():
    messages = []
    stream = CameraStream(SourceSpec("url", DEAD_URL, "cam0"), retry_backoff=(0.01, 0.02), on_message=messages.append)
    stream.start()
    _wait_finished(stream)
    assert stream.finished, "a dead live source is retried forever"
    assert stream.gave_up
    assert sum("retrying" in m for m in messages) == sources.LIVE_MAX_RETRIES
    assert "giving up" in messages[-1]


def test_live_source_that_opens_but_never_delivers_gives_up(monkeypatch):
    monkeypatch.setattr(sources._Reader, "open", lambda self: None)
    monkeypatch.setattr(sources._Reader, "read", lambda self: (False, None))
    monkeypatch.setattr(sources._Reader, "close", lambda self: None)
    messages = []
    stream = CameraStream(
        SourceSpec("url", DEAD_URL, "cam0"), retry_backoff=(0.01, 0.02), max_retries=2, on_message=messages.append
    ).start()
    _wait_finished(stream)
    assert stream.finished and stream.gave_up
    assert "giving up" in messages[-1]


class _NoDetections:
    def __call__(self, images, cameras, indices):
        return [sv.Detections.empty() for _ in images]


def _no_embed(crops):
    return np.zeros((len(crops), 8), np.float32)


def _run(specs, tmp_path, **kw):
    options = RunOptions(
        output_dir=str(tmp_path / "run"), write_video=False, progress=False, log=lambda line: None,
        retry_backoff=(0.05, 0.1), **kw,
    )
    return run_multicam(specs, _NoDetections(), _no_embed, None, options)


def _video(path: str, n: int) -> str:
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(n):
        writer.write(np.full((48, 64, 3), i * 7 % 255, np.uint8))
    writer.release()
    return path


def test_good_file_plus_dead_url_ends_when_the_url_gives_up(tmp_path):
    video = _video(str(tmp_path / "a.mp4"), 20)
    summary = _run([parse_cam(video, 0), parse_cam(DEAD_URL, 1)], tmp_path, max_retries=3)
    assert [c["frames"] for c in summary.cameras] == [20, 0]
    assert summary.cameras[1]["gave_up"] and not summary.cameras[0]["gave_up"]
    assert any("giving up" in m for m in summary.cameras[1]["messages"])
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["cameras"][1]["gave_up"]


def test_dead_source_never_holds_back_a_good_one(tmp_path):
    # The dead URL retries for ~1 s; the 20-frame file is done long before.
    video = _video(str(tmp_path / "a.mp4"), 20)
    options_retry = dict(max_retries=4)
    summary = _run([parse_cam(video, 0), parse_cam(DEAD_URL, 1)], tmp_path, **options_retry)
    events = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    end0 = next(i for i, e in enumerate(events) if e["event"] == "stream_end" and e["camera"] == 0)
    gave_up = next(i for i, e in enumerate(events) if "giving up" in e.get("message", ""))
    assert end0 < gave_up
    assert summary.cameras[0]["frames"] == 20


@pytest.mark.parametrize("value", [DEAD_URL, "97"])
def test_a_run_where_no_camera_delivered_fails_with_one_line_reason(tmp_path, value):
    with pytest.raises(NoFramesError) as err:
        _run([parse_cam(value, 0)], tmp_path, max_frames=5, max_retries=2)
    message = str(err.value)
    assert "\n" not in message and message.startswith("no camera delivered a frame: [cam0] cannot be opened")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())  # still written
    assert summary["cameras"][0]["frames"] == 0 and summary["cameras"][0]["gave_up"]


def test_no_frames_is_a_user_error_so_clis_exit_2_with_the_line():
    from mlfn_keras.errors import UserError, cli_entry

    assert issubclass(NoFramesError, UserError)

    @cli_entry
    def main(argv=None):
        raise NoFramesError("no camera delivered a frame: [cam0] cannot be opened")

    assert main([]) == 2


def test_max_frames_counts_per_camera(tmp_path):
    a = _video(str(tmp_path / "a.mp4"), 12)
    b = _video(str(tmp_path / "b.mp4"), 4)
    summary = _run([parse_cam(a, 0), parse_cam(b, 1)], tmp_path, max_frames=8)
    assert [c["frames"] for c in summary.cameras] == [8, 4]
