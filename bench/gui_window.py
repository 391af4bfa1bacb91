#!/usr/bin/env python3
"""Goal 6 of issue #15 on the real window: the release k2cse-gui under Xvfb with CPU rendering,
driven by xdotool as a user would, timed by the program's own frame probe (K2CSE_FRAME_LOG,
crates/gui/src/frame_log.rs: one line per egui pass, frames back to back while it logs).

  gui_window.py --bin BIN --config FILE --entries N --targets JSON --renderer glow|wgpu --out JSON

Measures, at N entries:
- opening: from starting the program to the end of the first frame whose list shows the
  entries (the next frame's start); three starts;
- scrolling: 100 wheel clicks down and 100 up over the entry list, 10 ms apart; every frame
  from the first wheel event to the last, from its start to the next frame's start;
- undo and redo: five Poll Interval edits and a removal (clicks and typing at the places
  benches/frames.rs found in the same 1280x800 layout), then Ctrl+Z six times and Ctrl+Y six
  times; each from the start of the frame that handles the key to the end of the first frame
  that draws the result;
- idle: frames with no input, and the egui pass of every frame (the app's CPU share).
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FIRST = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:user00000@denallix.com"


def read_log(path):
    """Frames: (wall seconds, pass ms, events, revision or None, rows or None)."""
    frames = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue  # a line being written
        wall, pass_us, events, rev, rows = parts
        frames.append((int(wall) / 1e6, int(pass_us) / 1000, events,
                       None if rev == "-" else int(rev), None if rows == "-" else int(rows)))
    return frames


def stats(values):
    v = sorted(values)
    if not v:
        return [0.0, 0.0, 0.0]
    at = lambda q: v[round((len(v) - 1) * q)]
    return [at(0.5), at(0.95), at(1.0)]


class Display:
    """A private Xvfb server."""

    def __enter__(self):
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            pass_fds=[w], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        number = b""
        while not number.endswith(b"\n"):
            chunk = os.read(r, 16)
            if not chunk:
                raise SystemExit("Xvfb did not start")
            number += chunk
        os.close(r)
        self.name = ":" + number.decode().strip()
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--entries", type=int, required=True)
    ap.add_argument("--targets", required=True)
    ap.add_argument("--renderer", choices=["glow", "wgpu"], required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    targets = json.loads(Path(a.targets).read_text())
    home = tempfile.mkdtemp(prefix="k2cse-gui-bench-")
    runtime = tempfile.mkdtemp(prefix="k2cse-gui-run-")
    with Display() as display:
        env = dict(os.environ, DISPLAY=display.name, HOME=home, XDG_DATA_HOME=home,
                   XDG_CONFIG_HOME=home, XDG_RUNTIME_DIR=runtime, WINIT_X11_SCALE_FACTOR="1",
                   K2CSE_GUI_RENDERER=a.renderer)
        env.pop("WAYLAND_DISPLAY", None)
        if a.renderer == "glow":
            env["LIBGL_ALWAYS_SOFTWARE"] = "1"  # Mesa's llvmpipe
        else:
            lvp = sorted(Path("/usr/share/vulkan/icd.d").glob("lvp_icd.*.json"))
            if lvp:
                env["VK_DRIVER_FILES"] = env["VK_ICD_FILENAMES"] = str(lvp[0])

        def xdo(*args):
            subprocess.run(["xdotool", *map(str, args)], env=env, check=True,
                           stdout=subprocess.DEVNULL)

        openings = []
        for attempt in range(3):
            log = Path(home) / f"frames-{attempt}.log"
            start = time.time()
            proc = subprocess.Popen([a.bin, "--config", a.config, "--select", FIRST],
                                    env=dict(env, K2CSE_FRAME_LOG=str(log)),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"k2cse-gui stopped: {proc.stderr.read().decode()}")
                frames = read_log(log) if log.exists() else []
                shown = [i for i, f in enumerate(frames) if f[4]]
                if shown and shown[0] + 1 < len(frames):
                    openings.append((frames[shown[0] + 1][0] - start) * 1000)
                    break
                if time.time() - start > 300:
                    raise SystemExit("the file never showed")
                time.sleep(0.01)
            if attempt < 2:
                proc.terminate()
                proc.wait()
        try:
            # The visible window: winit can create a helper window first, which is never
            # mapped, and focusing that one fails with BadMatch (seen with wgpu).
            window = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--pid",
                                     str(proc.pid)],
                                    env=env, check=True, capture_output=True,
                                    text=True).stdout.split()[0]
            # No window manager: give the window the keyboard as a click would.
            xdo("windowfocus", "--sync", window)
            time.sleep(1.0)
            mark = len(read_log(log))
            xdo("mousemove", "--window", window, *targets["list"])
            time.sleep(0.3)
            xdo("click", "--repeat", 100, "--delay", 10, 5)
            xdo("click", "--repeat", 100, "--delay", 10, 4)
            time.sleep(1.0)
            # Five value edits and a removal, for undo and redo to work on.
            for value in ["2M", "3M", "4M", "5M", "6M"]:
                xdo("mousemove", "--window", window, *targets["poll_interval"])
                xdo("click", 1)
                time.sleep(0.3)
                xdo("key", "ctrl+a")
                xdo("type", "--delay", 20, value)
                xdo("key", "Return")
                time.sleep(0.5)
            xdo("mousemove", "--window", window, *targets["remove"])
            xdo("click", 1)
            time.sleep(0.5)
            xdo("mousemove", "--window", window, *targets["confirm_remove"])
            xdo("click", 1)
            time.sleep(1.0)
            xdo("mousemove", "--window", window, *targets["list"])
            for key in ["ctrl+z"] * 6 + ["ctrl+y"] * 6:
                xdo("key", key)
                time.sleep(0.7)
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait()
    frames = read_log(log)[mark:]
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(runtime, ignore_errors=True)
    # Each frame's whole cost: from its start to the next frame's start.
    dur = [(frames[i + 1][0] - frames[i][0]) * 1000 for i in range(len(frames) - 1)]
    wheel = [i for i, f in enumerate(frames) if "wheel" in f[2]]
    scroll = dur[wheel[0]:min(wheel[-1] + 1, len(dur))] if wheel else []
    scroll_pass = [f[1] for f in frames[wheel[0]:wheel[-1] + 1]] if wheel else []

    def latencies(word):
        out = []
        for i, f in enumerate(frames):
            if word not in f[2]:
                continue
            # The frame that handles the key draws the old state and applies the change; the
            # first frame with another revision draws the result.
            j = next((k for k in range(i + 1, len(frames)) if frames[k][3] != f[3]), None)
            if j is None or j + 1 >= len(frames):
                raise SystemExit(f"{word}: no frame drew the result")
            out.append((frames[j + 1][0] - f[0]) * 1000)
        return out

    undo, redo = latencies("undo"), latencies("redo")
    if len(undo) != 6 or len(redo) != 6:
        raise SystemExit(f"expected 6 undos and 6 redos, the log has {len(undo)} and {len(redo)}")
    busy = set(wheel) | {i for i, f in enumerate(frames) if f[2] != "-"}
    idle = [d for i, d in enumerate(dur) if i not in busy and i - 1 not in busy]
    row = {
        "renderer": a.renderer,
        "entries": a.entries,
        "opening": stats(openings),
        "openings": len(openings),
        "idle": stats(idle),
        "idle_frames": len(idle),
        "pass": stats([f[1] for f in frames]),
        "scrolling": stats(scroll),
        "scrolling_pass": stats(scroll_pass),
        "scrolling_frames": len(scroll),
        "undo": stats(undo),
        "redo": stats(redo),
    }
    Path(a.out).write_text(json.dumps(row, indent=1) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
