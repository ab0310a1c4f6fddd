"""The live page and report.html in a real browser (headless Chromium from Debian, driven by Selenium).

Skipped, saying so, where ``chromium`` / ``chromedriver`` are missing
(``apt-get install -y chromium chromium-driver``; ``.ci/run`` installs them).
Selenium is pointed at Debian's chromedriver, so it never downloads anything.
"""

import os
import shutil
import tempfile
import threading
import time

import numpy as np
import pytest

from mlfn_keras.tracking.core.pipeline import TrackedObject
from mlfn_keras.tracking.view import CameraFrame, LiveViews
from mlfn_keras.tracking.view.draw import annotate, label_height
from mlfn_keras.tracking.view.feed import IdentityFeed
from mlfn_keras.tracking.view.report import write_report
from mlfn_keras.tracking.view.web import WebView

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)
FLAGS = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
         "--disable-component-update --disable-sync --window-size=1280,800").split()


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mlfn-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


def frame(t, people):
    """A 768x576 camera frame with people drawn as coloured boxes; their boxes."""
    img = np.full((576, 768, 3), 70, np.uint8)
    objs = []
    for track, gid, colour, x in people:
        box = (x + 4 * t, 150, x + 4 * t + 90, 420)
        img[box[1] : box[3], box[0] : box[2]] = colour
        objs.append(TrackedObject(0, t, track, gid, np.asarray(box, np.float32), 0.9))
    return img, objs


def test_live_page_and_report_show_people_and_their_timeline(browser, tmp_path):
    feed = IdentityFeed(["cam0", "cam1"])
    view = WebView("127.0.0.1", 0, ["cam0", "cam1"], feed=feed)
    hub = LiveViews([view], ["cam0", "cam1"], print, feed)
    stop = threading.Event()

    def tick(t, cams):
        images, objects, frames = [None, None], [[], []], []
        for cam, people in cams.items():
            img, objs = frame(t, people)
            for o in objs:
                o.camera = cam
            images[cam], objects[cam] = annotate(img, objs, f"cam{cam}"), objs
            frames.append(CameraFrame(cam, t, t / 10, objs, img))
        hub.update(images, objects, [], [10.0, 10.0], frames)

    for t in range(30):  # ID 7 in cam0, then ID 7 and ID 9 in cam1
        tick(t, {0: [(1, 7, (40, 90, 210), 50)]})
    for t in range(30, 60):
        tick(t, {1: [(2, 7, (40, 90, 210), 20), (3, 9, (200, 160, 30), 400)]})

    def now_tick(t):  # ID 9 in cam0, ID 7 in cam1
        tick(t % 80, {0: [(4, 9, (200, 160, 30), 100)], 1: [(2, 7, (40, 90, 210), 20)]})

    def keep_feeding():
        t = 61
        while not stop.wait(0.2):
            now_tick(t)
            t += 1

    now_tick(60)  # the page's first poll already sees who is where now, not ID 7 left over in cam0

    feeder = threading.Thread(target=keep_feeding, daemon=True)
    feeder.start()
    try:
        browser.get(view.url)
        wait_for(browser, "return document.querySelectorAll('.card').length === 2")
        # ID 7 and ID 9 have each been seen by both cameras: one picture per camera on each card.
        wait_for(browser, "const i = [...document.querySelectorAll('.card .crops img')];"
                          "return i.length === 4 && i.every(i => i.complete && i.naturalWidth > 0)")
        wait_for(browser, "return [...document.querySelectorAll('.tile img')].every(i => i.naturalWidth > 0)")
        # Id labels are readable at 1280x800: at least 14 CSS pixels tall on the tile.
        shown, natural = browser.execute_script("const i = document.querySelector('.tile img'); return [i.clientWidth, i.naturalWidth]")
        assert natural == 768 and shown * label_height(natural) / natural >= 14, (shown, natural)
        assert "ID 7 entered cam1 from cam0" in browser.find_element("id", "events").text
        browser.find_element("css selector", '.card[data-id="7"]').click()
        wait_for(browser, "return !document.getElementById('timeline').hidden && document.querySelectorAll('#tl-list li').length === 2")
        wait_for(browser, "return [...document.querySelectorAll('#tl-list img')].every(i => i.complete && i.naturalWidth > 0)")
        assert [li.get_attribute("data-camera") for li in browser.find_elements("css selector", "#tl-list li")] == ["cam0", "cam1"]
        # their box, highlighted live in cam1 only (the page redraws on each poll: wait for both at once)
        wait_for(browser, "return document.querySelectorAll('#tile-1 .hl').length === 1"
                          " && document.querySelectorAll('#tile-0 .hl').length === 0")
        assert browser.find_element("css selector", "#transitions tbody").text.startswith("cam0 cam1 1")
        browser.save_screenshot(str(tmp_path / "live.png"))
    finally:
        stop.set()
        feeder.join(5)
        view.close()

    feed.relabel({}, final=False)
    feed.finish()
    written = write_report(tmp_path / "out", feed) if (tmp_path / "out").mkdir() is None else []
    assert "report.html" in written and any(w.startswith("report_files/") for w in written)
    browser.get("about:blank")
    if hasattr(browser, "get_log"):
        browser.get_log("browser")  # drain: the closed live page's last polls may have failed
    browser.get((tmp_path / "out" / "report.html").as_uri())
    wait_for(browser, "return document.querySelectorAll('.card').length === 2")
    wait_for(browser, "return [...document.querySelectorAll('.card .crops img')].every(i => i.complete && i.naturalWidth > 0)")
    assert browser.execute_script("return document.querySelectorAll('.tile').length") == 0  # no live tiles in a report
    browser.find_element("css selector", '.card[data-id="9"]').click()
    wait_for(browser, "return !document.getElementById('timeline').hidden && document.querySelectorAll('#tl-list li').length === 2")
    assert "ID 9" in browser.find_element("id", "tl-title").text
    logs = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"] if hasattr(browser, "get_log") else []
    assert not logs, logs
