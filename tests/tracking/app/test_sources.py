"""Camera sources: --cams parsing, video files, image folders, faults."""

import time

import cv2
import numpy as np
import pytest
from stream_helpers import drain

from mlfn_keras.tracking.app.sources import (
    CameraStream,
    CamsError,
    FramePacket,
    SourceSpec,
    parse_cam,
    parse_cams,
)


def _write_video(path: str, n: int, size=(64, 48)) -> None:
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    assert writer.isOpened()
    for i in range(n):
        frame = np.full((size[1], size[0], 3), (i * 20) % 255, np.uint8)
        writer.write(frame)
    writer.release()


def test_parse_kinds(tmp_path):
    video = tmp_path / "walk.mp4"
    _write_video(str(video), 2)
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), np.zeros((8, 8, 3), np.uint8))
    specs = parse_cams(["0", str(video), "rtsp://10.0.0.7/stream", "http://cam/mjpg", str(folder)])
    assert [s.kind for s in specs] == ["webcam", "file", "url", "url", "folder"]
    assert specs[0].target == 0 and specs[0].live and not specs[1].live
    assert [s.name for s in specs] == ["cam0", "cam1", "cam2", "cam3", "cam4"]


@pytest.mark.parametrize("value", ["no_such_file.mp4", "cam-one", "ftp://host/x"])
def test_bad_cams_value_lists_what_is_accepted(value):
    with pytest.raises(CamsError) as info:
        parse_cams([value])
    message = str(info.value)
    assert repr(value) in message
    for accepted in ("webcam index", "video file", "rtsp", "folder of images"):
        assert accepted in message


def test_wrong_extension_and_empty_folder(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(CamsError, match="not a video extension"):
        parse_cam(str(text))
    with pytest.raises(CamsError, match="no images"):
        parse_cam(str(tmp_path))  # holds only notes.txt
    with pytest.raises(CamsError, match="no value"):
        parse_cams([])


def test_video_file_source_reads_every_frame_in_order(tmp_path):
    path = str(tmp_path / "clip.mp4")
    _write_video(path, 12)
    stream = CameraStream(parse_cam(path), camera=3, queue_size=2).start()
    packets = drain(stream)
    stream.stop()
    assert [p.index for p in packets] == list(range(12))  # blocking queue: nothing dropped
    assert all(p.camera == 3 and p.image.shape == (48, 64, 3) for p in packets)
    assert packets[1].timestamp == pytest.approx(0.1, abs=1e-3)  # 10 FPS stream time
    assert stream.stats.frames_dropped == 0


def test_image_folder_skips_corrupt_frame(tmp_path):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), np.full((10, 12, 3), i * 40, np.uint8))
    (tmp_path / "0002.png").write_bytes(b"not a png")  # corrupt
    messages = []
    stream = CameraStream(parse_cam(str(tmp_path)), on_message=messages.append).start()
    packets = drain(stream)
    assert [p.index for p in packets] == [0, 1, 3]
    assert stream.stats.corrupt_skipped == 1
    assert any("corrupt" in m for m in messages)


def test_missing_file_ends_only_that_stream(tmp_path):
    good = str(tmp_path / "ok.mp4")
    _write_video(good, 3)
    messages = []
    bad = CameraStream(SourceSpec("file", str(tmp_path / "gone.mp4"), "cam1"), on_message=messages.append).start()
    ok = CameraStream(parse_cam(good)).start()
    assert len(drain(ok)) == 3
    assert drain(bad) == [] and bad.finished
    assert any("cannot be opened" in m for m in messages)


def test_live_source_retries_with_backoff_then_gives_up():
    messages = []
    spec = SourceSpec("webcam", 97, "cam0")  # no such device on a test machine
    stream = CameraStream(spec, retry_backoff=(0.01, 0.02), max_retries=2, on_message=messages.append).start()
    deadline = time.monotonic() + 20
    while not stream.finished and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stream.finished
    assert sum("retrying" in m for m in messages) == 2
    assert "giving up" in messages[-1]


def test_live_source_drops_stale_frames():
    # Not started: drive the producer side directly. A live queue that is full
    # loses its oldest frame, so the consumer always gets the freshest ones.
    stream = CameraStream(SourceSpec("url", "rtsp://example/stream", "cam0"), queue_size=2)
    image = np.zeros((4, 4, 3), np.uint8)
    for i in range(5):
        stream._put(FramePacket(0, i, image, float(i)))
    assert [stream.read(timeout=0).index for _ in range(2)] == [3, 4]
    assert stream.read(timeout=0) is None
    assert stream.stats.frames_dropped == 3


def test_a_file_that_started_later_is_timed_on_the_common_clock(tmp_path):
    import dataclasses

    path = str(tmp_path / "late.mp4")
    _write_video(path, 5)
    spec = dataclasses.replace(parse_cam(path), start_time=57.0)
    stream = CameraStream(spec, camera=0, queue_size=2).start()
    packets = drain(stream)
    stream.stop()
    assert [p.index for p in packets] == list(range(5))  # frame numbers stay the file's own
    assert packets[0].timestamp == pytest.approx(57.0) and packets[2].timestamp == pytest.approx(57.2, abs=1e-3)


def _read_all_ticks(cameras) -> list[list[tuple[int, int]]]:
    """Every tick of a started CameraSet as (camera, frame index) pairs, until all cameras end (bounded)."""
    ticks = []
    for _ in range(200):
        if cameras.done:
            break
        read = cameras.read_tick()
        if read.packets:
            ticks.append([(p.camera, p.index) for p in read.packets])
            cameras.delivered(read.packets)
    cameras.stop()
    assert cameras.done
    return ticks


def test_a_recording_that_started_later_joins_the_run_at_its_start_time(tmp_path):
    import dataclasses

    from mlfn_keras.tracking.app.cameras import CameraSet

    first, second = str(tmp_path / "first.mp4"), str(tmp_path / "second.mp4")
    _write_video(first, 5)
    _write_video(second, 4)
    early = dataclasses.replace(parse_cam(first), name="early", start_time=0.0)
    late = dataclasses.replace(parse_cam(second, 1), name="late", start_time=0.3)  # 3 frames in, at 10 FPS
    ticks = _read_all_ticks(CameraSet([early, late], log=lambda line: None).start())
    # the late recording's first frame shares the tick of the early one's frame 3 (both at 0.3 s)
    assert ticks == [[(0, 0)], [(0, 1)], [(0, 2)], [(0, 3), (1, 0)], [(0, 4), (1, 1)], [(1, 2)], [(1, 3)]]

    # without start times (clocks not known to agree) the files stay in step frame by frame, as before
    unsynced = [dataclasses.replace(s, start_time=None) for s in (early, late)]
    ticks = _read_all_ticks(CameraSet(unsynced, log=lambda line: None).start())
    assert ticks == [[(0, 0), (1, 0)], [(0, 1), (1, 1)], [(0, 2), (1, 2)], [(0, 3), (1, 3)], [(0, 4)]]
