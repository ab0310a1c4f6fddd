"""The live window's own process: shows BGR frames read from stdin with pygame-ce.

Run by :class:`~mlfn_keras.tracking.view.window.WindowView` as a script (it
imports neither mlfn_keras nor TensorFlow, so it starts in a fraction of a
second). The window lives in its own process because Xlib ends the whole
process when the X server goes away; here that ends only this process, and
the demo goes on headless.

Protocol. stdin: frames, each an 8-byte little-endian ``(width, height)``
header then ``width * height * 3`` bytes of BGR; EOF closes the window.
stdout: one line per message: ``ok <driver>`` once the window system is up,
``error <reason>`` if it cannot be, ``ready`` after each frame is read (the
parent sends the next one only then: frames are dropped, never queued),
``quit`` when the person presses q/Esc or closes the window.
"""

from __future__ import annotations

import os
import struct
import sys
import threading

TITLE = "mlfn-keras multicam (q / Esc to quit)"
HEADLESS_DRIVERS = ("offscreen", "dummy")


def say(*words: str) -> None:
    try:
        sys.stdout.write(" ".join(words) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass


def read_exact(stream, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def main() -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError:
        say("error", "pygame-ce is not installed (pip install 'mlfn-keras[demo]' or pip install pygame-ce)")
        return 3
    try:
        pygame.display.init()
    except pygame.error as exc:
        say("error", f"no display ({exc})")
        return 4
    driver = pygame.display.get_driver()
    if driver in HEADLESS_DRIVERS and os.environ.get("SDL_VIDEODRIVER") != driver:
        say("error", "no display (DISPLAY / WAYLAND_DISPLAY not set)")
        return 4
    say("ok", driver)

    latest: list = [None]
    lock = threading.Lock()
    ended = threading.Event()

    def reader() -> None:
        stdin = sys.stdin.buffer
        while True:
            header = read_exact(stdin, 8)
            if header is None:
                break
            w, h = struct.unpack("<II", header)
            data = read_exact(stdin, w * h * 3)
            if data is None:
                break
            with lock:
                latest[0] = (w, h, data)
            say("ready")
        ended.set()

    threading.Thread(target=reader, daemon=True).start()
    screen = None
    clock = pygame.time.Clock()
    while not ended.is_set():
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in (pygame.K_q, pygame.K_ESCAPE)):
                say("quit")
                pygame.quit()
                return 0
        with lock:
            frame, latest[0] = latest[0], None
        if frame is not None:
            w, h, data = frame
            if screen is None:
                desktop = pygame.display.get_desktop_sizes()[0] if hasattr(pygame.display, "get_desktop_sizes") else (w, h)
                scale = min(1.0, 0.9 * desktop[0] / w, 0.9 * desktop[1] / h)
                screen = pygame.display.set_mode((int(w * scale), int(h * scale)), pygame.RESIZABLE)
                pygame.display.set_caption(TITLE)
            image = pygame.image.frombuffer(data, (w, h), "BGR")
            sw, sh = screen.get_size()
            scale = min(sw / w, sh / h)
            size = (max(1, int(w * scale)), max(1, int(h * scale)))
            screen.fill((0, 0, 0))
            shown = image if size == (w, h) else pygame.transform.smoothscale(image.convert(), size)
            screen.blit(shown, ((sw - size[0]) // 2, (sh - size[1]) // 2))
            pygame.display.flip()
        clock.tick(60)
    pygame.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
