"""How fast the playground trains and streams, measured as the page would see it.

    python -m deepbasics.playground.bench [--seconds 5] [--engine numpy]

Starts the real server (``deepbasics playground --no-browser --port 0``) in a subprocess,
connects over a real WebSocket (the ``websockets`` client), configures a network, presses
play and counts, for
    the chapter's 2-5-2-1 network on its 900 moons (the "chapter-adam" preset), and
    a depth-20, width-64 ReLU network (He initialisation, Adam) on the same moons:
epochs per second and frames per second while playing, and the latency from "play" to the
first frame with a trained epoch (the first play, which includes the JAX engine's compilation,
and a second one). Targets (the playground's issue): >= 200 epochs/s and >= 10
frames/s for the small network, >= 20 epochs/s for the deep one, < 0.5 s to the first frame.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time

from .presets import presets

TARGETS = {"small": (200, 10), "deep": (20, None)}


def workloads(engine: str) -> dict:
    small = copy.deepcopy(next(p for p in presets() if p["id"] == "chapter-adam")["config"])
    deep = copy.deepcopy(small)
    deep["data"]["standardize"] = True
    deep["model"].update(hidden=[64] * 20, activation="relu", init="he_normal")
    deep["optimizer"] = {"name": "adam", "lr": 0.001}
    for raw in (small, deep):
        raw["train"]["engine"] = engine
    return {"small": small, "deep": deep}


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "deepbasics", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.search(r"http://([^/\s]+)/\?token=(\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r} {proc.stderr.read()}")
    return proc, f"ws://{match.group(1)}/ws?token={match.group(2)}"        # the printed URL's token


async def measure(url: str, raw: dict, seconds: float) -> dict:
    import websockets
    async with websockets.connect(url, max_size=None) as ws:
        async def until(kind: str):
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] == "error":
                    raise SystemExit(f"the server refused the configuration: {msg['message']}")
                if msg["type"] == kind:
                    return msg
        await until("hello")
        await ws.send(json.dumps({"type": "configure", "config": raw, "compare": None}))
        await until("data")
        await until("status")
        await asyncio.sleep(1.0)                      # the worker process is up and idle
        t_play = time.perf_counter()
        await ws.send(json.dumps({"type": "play"}))
        first, frames, epoch0 = None, 0, 0
        while True:
            msg = await until("frame")
            now = time.perf_counter()
            if first is None and msg["epoch"] > 0:
                first, epoch0, t0 = now - t_play, msg["epoch"], now
            elif first is not None:
                frames += 1
                if now - t0 >= seconds:
                    break
        await ws.send(json.dumps({"type": "pause"}))
        paused = await until("status")
        t_again = time.perf_counter()             # play again: compiled programs (JAX) are warm now
        await ws.send(json.dumps({"type": "play"}))
        await until("frame")
        again = time.perf_counter() - t_again
        await ws.send(json.dumps({"type": "pause"}))
        return {"epochs_per_second": (msg["epoch"] - epoch0) / (now - t0), "frames_per_second": frames / (now - t0),
                "first_frame_seconds": first, "again_frame_seconds": again, "epochs": paused["epoch"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepbasics.playground.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measure each network this long (default 5)")
    parser.add_argument("--engine", default="numpy", help="train.engine of both networks (default numpy)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    proc, url = start_server()
    results = {}
    try:
        for name, raw in workloads(args.engine).items():
            results[name] = asyncio.run(measure(url, raw, args.seconds))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    load = ", load average %.1f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    print(f"playground bench: {platform.machine()}, {os.cpu_count()} cores{load}, engine {args.engine}, "
          f"{args.seconds:g} s per network")
    print(f"{'network':<24}{'epochs/s':>9}{'target':>7}{'frames/s':>9}{'target':>7}"
          f"{'play->frame':>13}{'again':>8}   (target < 0.5 s)")
    names = {"small": "2-5-2-1 on 900 moons", "deep": "depth 20 x width 64"}
    for name, r in results.items():
        eps, fps = TARGETS[name]
        print(f"{names[name]:<24}{r['epochs_per_second']:>9.0f}{'>=' + str(eps):>7}{r['frames_per_second']:>9.1f}"
              f"{'>=' + str(fps) if fps else '-':>7}{r['first_frame_seconds']:>11.3f} s"
              f"{r['again_frame_seconds']:>6.3f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
