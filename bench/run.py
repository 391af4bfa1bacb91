#!/usr/bin/env python3
"""Measures the performance goals of issue #15 against their anchors, side by side in one run,
prints each goal with its ratio and PASS/FAIL, and regenerates docs/performance.md.

Usage: bench/run.sh [--runs N] [--goals 1,2,3,4,5,7,8] [--sizes 1000,10000,100000]

How: every command is a fresh process on a fresh copy of its file. Commands compared with each
other run *paired*: round after round, each command once, in rotating order, so that load from
other processes on the machine hits both sides alike. A ratio is the median of the per-round
ratios (wall time); the CPU ratio (user + sys, from wait4's rusage) is shown next to it, since it
does not count time spent waiting for a core. Peak RSS is rusage's ru_maxrss. fsyncs are
counted with strace. Goal 6 (GUI) comes from bench/gui.sh (bench/out/gui-frames.json).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
K2CSE = ROOT / "target" / "release" / "k2cse"
SIM = ROOT / "target" / "release" / "k2cse-mssql-sim"
KEY = ROOT / "tests" / "fixtures" / "keys" / "k2-test-key.xml"
SAMPLE = ROOT / "crates" / "core" / "assets" / "k2-sample.config"
EWS = "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def once(argv, prepare=None, env=None):
    """Runs argv once (stdout and stderr to /dev/null): wall ms, CPU ms, peak RSS KiB."""
    if prepare:
        prepare()
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, stdout=null, stderr=null, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):  # 3: lint found errors, still a complete run
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, argv))}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss


def peak_rss_kib(argv, prepare=None, runs=3):
    """Peak RSS by GNU time (wait4's ru_maxrss of a child forked from Python can count the
    Python process it was forked from)."""
    samples = []
    for _ in range(runs):
        if prepare:
            prepare()
        with tempfile.NamedTemporaryFile("r") as t:
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name, *map(str, argv)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples.append(int(t.read().strip().splitlines()[-1]))
    return statistics.median(samples)


def paired(cmds, runs, warmup=2):
    """cmds: {label: (argv, prepare)}. Returns {label: {"wall": [...], "cpu": [...], "rss": [...]}}."""
    labels = list(cmds)
    res = {l: {"wall": [], "cpu": [], "rss": []} for l in labels}
    for r in range(warmup + runs):
        order = labels[r % len(labels):] + labels[: r % len(labels)]
        for label in order:
            argv, prepare = cmds[label]
            wall, cpu, rss = once(argv, prepare)
            if r >= warmup:
                res[label]["wall"].append(wall)
                res[label]["cpu"].append(cpu)
                res[label]["rss"].append(rss)
    return res


def ratio(res, a, b, what="wall"):
    """Median of per-round ratios a/b."""
    return statistics.median(x / y for x, y in zip(res[a][what], res[b][what]))


def med(res, label, what="wall"):
    return statistics.median(res[label][what])


def copier(base, work):
    def prepare():
        shutil.rmtree(work.parent / "k2cse-backups", ignore_errors=True)
        shutil.copyfile(base, work)
    return prepare


def config(n):
    path = OUT / f"base-{n}.config"
    if not path.exists():
        run([sys.executable, str(ROOT / "bench" / "gen_config.py"), str(n), str(path)])
    return path


def protected(base, name):
    """`base` with K2's provider declared and the section encrypted by k2cse (RSA + 3DES)."""
    out = OUT / name
    declaration = (
        '  <configProtectedData>\r\n    <providers>\r\n      <add name="K2ConfigurationKey" '
        'type="System.Configuration.RsaProtectedConfigurationProvider, System.Configuration, Version=2.0.0.0, '
        'Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a" keyContainerName="K2ConfigurationKey" '
        'useMachineContainer="true" />\r\n    </providers>\r\n  </configProtectedData>\r\n'
    )
    text = base.read_bytes()
    anchor = b"  <appSettings>"
    text = text.replace(anchor, declaration.encode() + anchor, 1)
    out.write_bytes(text)
    run([str(K2CSE), "-c", str(out), "-k", str(KEY), "protect", "--no-backup"])
    return out


def mailbox(n):
    return f"user{n // 2:05d}@denallix.com"


XSEL = ["xmlstarlet", "sel", "-t", "-m", "/configuration/connectionStrings/add",
        "-v", "@name", "-o", "|", "-v", "@connectionString", "-n"]


def goal_reads(sizes, runs):
    """Goals 1 and 2: list, list --json, lint against xmlstarlet sel listing the same attributes."""
    rows = []
    # The floor under every peak RSS below: the process itself (mapped code of the executable
    # and libraries, allocator), before it reads any config.
    startup = peak_rss_kib([K2CSE, "--version"])
    for n in sizes:
        base = config(n)
        cmds = {
            "k2cse list": ([K2CSE, "-c", base, "list"], None),
            "k2cse list --json": ([K2CSE, "-c", base, "--json", "list"], None),
            "k2cse lint": ([K2CSE, "-c", base, "lint"], None),
            "xmlstarlet sel": ([*XSEL, base], None),
        }
        res = paired(cmds, runs if n < 100_000 else max(3, runs // 3))
        size = base.stat().st_size
        for label in ("k2cse list", "k2cse list --json", "k2cse lint", "xmlstarlet sel"):
            rows.append({
                "entries": n, "bytes": size, "tool": label,
                "wall_ms": med(res, label), "cpu_ms": med(res, label, "cpu"),
                "rss_kib": peak_rss_kib(cmds[label][0]),
                "ratio": ratio(res, label, "xmlstarlet sel"),
                "cpu_ratio": ratio(res, label, "xmlstarlet sel", "cpu"),
                "startup_rss_kib": startup,
            })
    return rows


def count_fsyncs(argv, prepare):
    prepare()
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as t:
        subprocess.run(["strace", "-f", "-qq", "-o", t.name, "-e", "trace=fsync,fdatasync,sync_file_range,syncfs",
                        *map(str, argv)], check=True, capture_output=True)
        return sum(1 for line in Path(t.name).read_text().splitlines() if "(" in line and "resumed" not in line)


def goal_set(n, runs):
    """Goal 3: one set at n entries against xmlstarlet ed -L making the same edit."""
    base = config(n)
    work = OUT / f"work-{n}.config"
    name = f"{EWS}:{mailbox(n)}"
    i = n // 2
    if i % 2:
        new = f"Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID={mailbox(n)};Poll Interval=2M"
    else:
        new = f"Autodiscover=False;URL=https://mail.denallix.com/EWS/Exchange.asmx;User ID=DENALLIX\\svc{i:05d};Password=Pw{i:05d}!;Poll Interval=2M"
    xpath = f"/configuration/connectionStrings/add[@name='{name}']/@connectionString"
    prep = copier(base, work)
    cmds = {
        "k2cse set --no-backup": ([K2CSE, "-c", work, "set", name, "Poll Interval=2M", "--no-backup"], prep),
        "k2cse set": ([K2CSE, "-c", work, "set", name, "Poll Interval=2M"], prep),
        "xmlstarlet ed -L -u": (["xmlstarlet", "ed", "-L", "-u", xpath, "-v", new, work], prep),
    }
    res = paired(cmds, runs)
    # Both tools must produce the same connection string.
    values = set()
    for label, (argv, p) in cmds.items():
        once(argv, p)
        shown = json.loads(run([str(K2CSE), "-c", str(work), "--reveal", "--json", "show", name]))
        values.add(shown["entry"]["connection_string"])
    if len(values) != 1:
        raise SystemExit(f"set: the tools disagree: {values}")
    size = base.stat().st_size
    startup = peak_rss_kib([K2CSE, "--version"])
    rows = []
    for label in cmds:
        rows.append({
            "entries": n, "bytes": size, "tool": label, "startup_rss_kib": startup,
            "wall_ms": med(res, label), "cpu_ms": med(res, label, "cpu"), "rss_kib": peak_rss_kib(*cmds[label]),
            "ratio": ratio(res, label, "xmlstarlet ed -L -u"),
            "cpu_ratio": ratio(res, label, "xmlstarlet ed -L -u", "cpu"),
            "fsyncs": count_fsyncs(*cmds[label]),
        })
    return rows


def goal_encrypted(runs):
    """Goal 4: encrypted set / plain set, at 10,000 entries and on the real-size sample."""
    rows = []
    for label, base in (("real size (8 entries)", SAMPLE), ("10,000 entries", config(10_000))):
        enc = protected(base, f"enc-{base.stem}.config")
        plain_work, enc_work = OUT / "plain-work.config", OUT / "enc-work.config"
        smtp = "SourceCode.Net.Mail.SmtpConnection"
        name, value = (smtp, "Port=587") if base == SAMPLE else (f"{EWS}:{mailbox(10_000)}", "Poll Interval=2M")
        cmds = {
            "plain set": ([K2CSE, "-c", plain_work, "set", name, value, "--no-backup"], copier(base, plain_work)),
            "encrypted set": ([K2CSE, "-c", enc_work, "-k", KEY, "set", name, value, "--no-backup"], copier(enc, enc_work)),
        }
        res = paired(cmds, runs)
        rows.append({
            "size": label, "plain_ms": med(res, "plain set"), "encrypted_ms": med(res, "encrypted set"),
            "ratio": ratio(res, "encrypted set", "plain set"),
            "cpu_ratio": ratio(res, "encrypted set", "plain set", "cpu"),
            "limit": 1.5 if base == SAMPLE else 2.0,
        })
    return rows


def goal_db(runs):
    """Goal 5: `k2cse db status` against FreeTDS tsql running a probe, on the simulator binary."""
    work = Path(tempfile.mkdtemp(prefix="k2cse-bench-db-"))
    password = "Bench!Pass1"
    sim = subprocess.Popen([str(SIM), "--listen", "127.0.0.1:0", "--seed", "k2-sample", "--sa-password", password,
                            "--data", str(work / "data"), "--cert-out", str(work / "sim.pem")],
                           stdout=open(work / "sim.out", "w"), stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            text = (work / "sim.out").read_text() if (work / "sim.out").exists() else ""
            if "listening on" in text:
                break
            time.sleep(0.05)
        port = text.split("listening on ")[1].split()[0].rsplit(":", 1)[1]
        cfg = work / "K2HostServer.exe.config"
        shutil.copyfile(SAMPLE, cfg)
        env = dict(os.environ, K2CSE_SQL_PASSWORD=password, K2CSE_KEYRING="mock",
                   K2CSE_CONNECTION=f"Data Source=127.0.0.1,{port};Initial Catalog=K2;User ID=sa;TrustServerCertificate=True")
        probe = work / "probe.sql"
        probe.write_text("SELECT COUNT(*) FROM [HostServer].[Configuration]\ngo\nexit\n")
        k2 = [str(K2CSE), "-c", str(cfg), "db", "status"]
        tsql = ["sh", "-c", f"tsql -H 127.0.0.1 -p {port} -U sa -P '{password}' -D K2 < {probe}"]
        res = {"k2cse db status": {"wall": [], "cpu": [], "rss": []}, "tsql": {"wall": [], "cpu": [], "rss": []}}
        for r in range(2 + runs):
            for label, argv in ((("k2cse db status", k2), ("tsql", tsql)) if r % 2 else (("tsql", tsql), ("k2cse db status", k2))):
                wall, cpu, rss = once(argv, env=env)
                if r >= 2:
                    res[label]["wall"].append(wall)
                    res[label]["cpu"].append(cpu)
                    res[label]["rss"].append(rss)
        return [{"k2cse_ms": med(res, "k2cse db status"), "tsql_ms": med(res, "tsql"),
                 "ratio": ratio(res, "k2cse db status", "tsql"),
                 "cpu_ratio": ratio(res, "k2cse db status", "tsql", "cpu")}]
    finally:
        sim.kill()
        sim.wait()
        shutil.rmtree(work, ignore_errors=True)


def goal_apply(runs, counts=(1, 100, 2000)):
    """Goal 7: `apply` of N adds on a ~5 MB file; one pass means N hardly matters."""
    n = 21_000
    base = config(n)
    work = OUT / "apply-work.config"
    rows = []
    cmds = {}
    for count in counts:
        batch = OUT / f"batch-{count}.json"
        changes = [{"op": "add", "name": f"{EWS}:new{j:05d}@denallix.com",
                    "values": {"Autodiscover": "False", "OAuth Resource": "EWS",
                               "OAuth Resource Audience": "https://outlook.office365.com",
                               "User ID": f"new{j:05d}@denallix.com"}} for j in range(count)]
        batch.write_text(json.dumps({"change": changes}))
        cmds[f"N = {count:,}"] = ([K2CSE, "-c", work, "apply", batch, "--no-backup"], copier(base, work))
    res = paired(cmds, max(3, runs // 3), warmup=1)
    one = f"N = {counts[0]:,}"
    for label in cmds:
        rows.append({"changes": label, "bytes": base.stat().st_size, "wall_ms": med(res, label),
                     "cpu_ms": med(res, label, "cpu"), "ratio": ratio(res, label, one)})
    return rows


def goal_linear(sizes, runs):
    """Goal 8: per-entry cost of list --json, lint and set --no-backup across sizes. The fixed
    cost (the same command on the 8-entry sample, paired) is subtracted; CPU time, so that
    waiting for a core does not count."""
    rows = []
    for cmd in ("list --json", "lint", "set --no-backup"):
        per_entry = {}
        for n in sizes:
            base = config(n)
            work = OUT / f"lin-{n}.config"
            small = OUT / "lin-sample.config"
            if cmd == "set --no-backup":
                big_argv = [K2CSE, "-c", work, "set", f"{EWS}:{mailbox(n)}", "Poll Interval=2M", "--no-backup"]
                small_argv = [K2CSE, "-c", small, "set", "SourceCode.Net.Mail.SmtpConnection", "Port=587", "--no-backup"]
            else:
                big_argv = [K2CSE, "-c", work, *cmd.replace("list --json", "--json list").split()]
                small_argv = [K2CSE, "-c", small, *cmd.replace("list --json", "--json list").split()]
            res = paired({"big": (big_argv, copier(base, work)), "small": (small_argv, copier(SAMPLE, small))},
                         # A 1,000-entry run is a few ms over the sample's: noise weighs
                         # most there, and three times the rounds cost little.
                         3 * runs if n <= 1_000 else runs if n < 100_000 else max(3, runs // 3))
            per_entry[n] = max(med(res, "big", "cpu") - med(res, "small", "cpu"), 0.0) / n * 1000  # µs
        spread = max(per_entry.values()) / max(min(per_entry.values()), 1e-9)
        rows.append({"command": cmd, "per_entry_us": per_entry, "spread": spread})
    return rows


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "unknown")
    return {
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
        "rustc": run(["rustc", "--version"]).strip(),
        "xmlstarlet": run(["xmlstarlet", "--version"]).splitlines()[0].strip(),
        "load": os.getloadavg(),
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def verdict(ok):
    return "PASS" if ok else "FAIL"


def summary(r):
    """One line per goal: (goal, measured, limit, PASS/FAIL)."""
    lines = []
    if "reads" in r:
        reads = r["reads"]
        for tool, goal in (("k2cse list", 1), ("k2cse list --json", 1), ("k2cse lint", 2)):
            for x in [x for x in reads if x["tool"] == tool]:
                rss = x["rss_kib"] * 1024 / x["bytes"]
                ok = x["ratio"] <= 1.0 and (goal == 2 or rss <= 3.0)
                what = f"{x['ratio']:.2f}× xmlstarlet sel (CPU {x['cpu_ratio']:.2f}×)"
                if goal == 1:
                    what += f", peak RSS {rss:.1f}× the file"
                    if "startup_rss_kib" in x:
                        what += f" ({(x['rss_kib'] - x['startup_rss_kib']) * 1024 / x['bytes']:.1f}× above start-up)"
                lines.append((goal, f"`{tool[6:]}` at {x['entries']:,}", what, "≤ 1.0×" + (", RSS ≤ 3×" if goal == 1 else ""), verdict(ok)))
    if "set" in r:
        for x in r["set"]:
            if x["tool"].startswith("k2cse"):
                limit = 0.4 if "no-backup" in x["tool"] else 0.7
                rss = x["rss_kib"] * 1024 / x["bytes"]
                ok = x["ratio"] <= limit and rss <= 3.0
                above = ""
                if "startup_rss_kib" in x:
                    above = f" ({(x['rss_kib'] - x['startup_rss_kib']) * 1024 / x['bytes']:.1f}× above start-up)"
                lines.append((3, f"`{x['tool'][6:]}` at {x['entries']:,}",
                              f"{x['ratio']:.2f}× xmlstarlet ed -L (CPU {x['cpu_ratio']:.2f}×), RSS {rss:.1f}× the file{above}, {x['fsyncs']} fsyncs",
                              f"≤ {limit}×, RSS ≤ 3×", verdict(ok)))
    if "encrypted" in r:
        for x in r["encrypted"]:
            lines.append((4, f"encrypted `set` ÷ plain `set`, {x['size']}",
                          f"{x['ratio']:.2f}× (CPU {x['cpu_ratio']:.2f}×)", f"≤ {x['limit']}×", verdict(x["ratio"] <= x["limit"])))
    if "db" in r:
        for x in r["db"]:
            lines.append((5, "`db status` ÷ FreeTDS `tsql` probe", f"{x['ratio']:.2f}× (CPU {x['cpu_ratio']:.2f}×)", "≤ 1.5×", verdict(x["ratio"] <= 1.5)))
    gui = OUT / "gui-frames.json"
    if not gui.exists() or "opening the file" not in gui.read_text():
        lines.append((6, "GUI: open, undo/redo, frames at 10,000 (bench/gui.sh)",
                      "not measured: run bench/gui.sh (bench/all.sh does)", "≤ 1 s, ≤ 50 ms, ≤ 16 ms", "NOT MEASURED"))
    else:
        frames = [f for f in json.loads(gui.read_text()) if f["entries"] == 10_000]
        by = {f["scenario"]: f for f in frames}
        if "opening the file" in by:
            t = by["opening the file"]["max_ms"]
            lines.append((6, "GUI: open 10,000 entries to the first frame", f"{t:,.0f} ms ({t / 1000:.2f}× the goal)", "≤ 1 s", verdict(t <= 1000)))
        undo = [by[s]["max_ms"] for s in ("undo (Ctrl+Z)", "redo (Ctrl+Y)") if s in by]
        if undo:
            lines.append((6, "GUI: undo/redo at 10,000 (slowest)", f"{max(undo):.1f} ms ({max(undo) / 50:.2f}× the goal)", "≤ 50 ms", verdict(max(undo) <= 50)))
        scroll = by.get("scrolling")
        if scroll:
            lines.append((6, "GUI: scrolling at 10,000 (slowest frame)", f"{scroll['max_ms']:.1f} ms ({scroll['max_ms'] / 16:.2f}× the goal)", "≤ 16 ms", verdict(scroll["max_ms"] <= 16)))
    if "apply" in r:
        last = r["apply"][-1]
        lines.append((7, f"`apply` of {last['changes'][4:]} adds ÷ 1 add ({last['bytes'] / 1e6:.1f} MB file)",
                      ", ".join(f"{x['changes']}: {x['ratio']:.2f}×" for x in r["apply"]), "≤ 2× (one pass: O(file + N))",
                      verdict(last["ratio"] <= 2.0)))
    if "linear" in r:
        for x in r["linear"]:
            per = ", ".join(f"{int(n):,}: {v:.2f} µs" for n, v in sorted(x["per_entry_us"].items(), key=lambda kv: int(kv[0])))
            lines.append((8, f"per-entry CPU cost of `{x['command']}`", f"{per}; spread {x['spread']:.2f}×", "≤ 1.5×", verdict(x["spread"] <= 1.5)))
    return sorted(lines, key=lambda l: l[0])


def report(r, info, runs):
    out = [
        "# Performance",
        "",
        "Generated by `bench/run.sh` (do not edit by hand); `bench/all.sh` runs it after",
        "`bench/db.sh` and `bench/gui.sh` and prints every goal with PASS/FAIL:",
        "",
        "```sh",
        f"RUNS={runs} bench/all.sh",
        "```",
        "",
        "## How it is measured",
        "",
        "Every command is a fresh process on a fresh copy of a K2-shaped config",
        "(`bench/gen_config.py`: UTF-8 with BOM, CRLF, N EWS entries, the commented template).",
        "The machine is shared (2 cores, several developers building), so wall times are noisy.",
        "Figures are therefore **ratios to an anchor measured in the same run, paired**: round",
        "after round, each command once, in rotating order, and the ratio is the median of the",
        "per-round ratios, so that load from other processes hits both sides alike. Next to the",
        "wall-time ratio is the CPU-time ratio (user + sys from `wait4`), which waiting for a",
        "core does not inflate. Peak memory is GNU time's maximum resident set size (median of 3); fsyncs are counted with `strace -f`.",
        "Paired rounds per comparison: see \"Measured\" below (a third of them at 100,000",
        "entries and for apply, three times as many at 1,000 entries for goal 8), after warm-up rounds.",
        "",
        f"Page written: {info['when']}. Machine: {info['cpu']}, {info['cores']} cores; Linux {info['kernel']};",
        f"{info['rustc']}; xmlstarlet {info['xmlstarlet']}.",
        "",
        "## Goals (issue #15)",
        "",
        "Measured (each group of goals can be re-run alone: `bench/run.sh --goals 7`):",
        "",
        *[f"- {k}: {v}" for k, v in sorted(r.get("when", {}).items())],
        "",
        "| goal | what | measured | target | result |",
        "|---:|---|---|---|---|",
    ]
    for goal, what, measured, limit, verdict_ in summary(r):
        out.append(f"| {goal} | {what} | {measured} | {limit} | **{verdict_}** |")
    if "reads" in r:
        out += ["", "## Reads: list, list --json, lint against `xmlstarlet sel`", "",
                "`xmlstarlet sel` prints the same two attributes of every `<add>` (name and connection",
                "string). k2cse parses every connection string as .NET does, lints every entry and",
                "masks secrets.", "",
                "| entries | file | tool | wall | CPU | peak RSS | ÷ xmlstarlet (wall) | ÷ xmlstarlet (CPU) |",
                "|---:|---:|---|---:|---:|---:|---:|---:|"]
        for x in r["reads"]:
            out.append(f"| {x['entries']:,} | {x['bytes'] / 1e6:.1f} MB | `{x['tool']}` | {x['wall_ms']:.1f} ms | {x['cpu_ms']:.1f} ms "
                       f"| {x['rss_kib'] / 1024:.1f} MiB | {x['ratio']:.2f} | {x['cpu_ratio']:.2f} |")
        startup = next((x["startup_rss_kib"] for x in r["reads"] if "startup_rss_kib" in x), None)
        if startup:
            out += ["", f"Start-up alone (`k2cse --version`) peaks at {startup / 1024:.1f} MiB: the mapped code of a",
                    "19 MB executable (clap, the TDS client, rustls, AWS-LC, age...) and of libc. At 10,000 entries",
                    "that floor is already most of the 3× budget; \"above start-up\" in the goals table is the",
                    "peak minus that floor, divided by the file size: what reading the file costs."]
    if "set" in r:
        out += ["", "## One edit against `xmlstarlet ed -L`", "",
                "| entries | tool | wall | CPU | peak RSS | ÷ xmlstarlet (wall) | ÷ xmlstarlet (CPU) | fsyncs |",
                "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for x in r["set"]:
            out.append(f"| {x['entries']:,} | `{x['tool']}` | {x['wall_ms']:.1f} ms | {x['cpu_ms']:.1f} ms | {x['rss_kib'] / 1024:.1f} MiB "
                       f"| {x['ratio']:.2f} | {x['cpu_ratio']:.2f} | {x['fsyncs']} |")
    if "encrypted" in r:
        out += ["", "## Encrypted edits (RSA + Triple DES, `--key-file`)", "",
                "| config | plain `set` | encrypted `set` | ratio (wall) | ratio (CPU) |", "|---|---:|---:|---:|---:|"]
        for x in r["encrypted"]:
            out.append(f"| {x['size']} | {x['plain_ms']:.1f} ms | {x['encrypted_ms']:.1f} ms | {x['ratio']:.2f} | {x['cpu_ratio']:.2f} |")
    if "db" in r:
        out += ["", "## Database start-up", "",
                "`k2cse db status` and FreeTDS `tsql` running a `SELECT COUNT(*)` probe, each a fresh",
                "process, against the `k2cse-mssql-sim` binary (TLS, SQL login).", "",
                "| k2cse db status | tsql | ratio (wall) | ratio (CPU) |", "|---:|---:|---:|---:|"]
        for x in r["db"]:
            out.append(f"| {x['k2cse_ms']:.1f} ms | {x['tsql_ms']:.1f} ms | {x['ratio']:.2f} | {x['cpu_ratio']:.2f} |")
    if "apply" in r:
        out += ["", "## Batches: `apply` of N adds", "", "| changes | file | wall | CPU | ÷ N = 1 |", "|---|---:|---:|---:|---:|"]
        for x in r["apply"]:
            out.append(f"| {x['changes']} | {x['bytes'] / 1e6:.1f} MB | {x['wall_ms']:.1f} ms | {x['cpu_ms']:.1f} ms | {x['ratio']:.2f} |")
    if "linear" in r:
        out += ["", "## Growth: CPU cost per entry", "",
                "CPU time of the command at N entries minus the same command on the 8-entry sample",
                "(paired), divided by N.", "", "| command | per entry at each size | spread (max ÷ min) |", "|---|---|---:|"]
        for x in r["linear"]:
            per = ", ".join(f"{int(n):,}: {v:.2f} µs" for n, v in sorted(x["per_entry_us"].items(), key=lambda kv: int(kv[0])))
            out.append(f"| `{x['command']}` | {per} | {x['spread']:.2f} |")
    out += ["", *CHOICES.strip("\n").splitlines(), ""]
    return "\n".join(out)


CHOICES = """
## Why it is this fast, and the choices made

- **Reads** (`list`, `list --json`, `lint`): output goes through one 64 KiB buffer (stdout is
  line-buffered: 10,000 entries were 480,057 `write` calls); the JSON documents are typed
  `Serialize` structs written as they are built, entries streamed one by one, never a
  `serde_json::Value` tree. Key comparisons (`connstr::same_key`) fold character by character
  instead of building two `String`s per comparison; lint sorts its findings by reference
  instead of cloning each finding's path for every comparison, and counts secrets in the
  same pass as the per-entry rules. Schema look-ups try the schema's own spelling first (a
  length check and a `memcmp` per key; a unit test shows no spelling of one key matches
  another, so the answer is the same); ASCII keys are folded in one `to_ascii_lowercase`;
  an entry's `connectionString` and `providerName` are found in one pass over its attributes,
  the end of each value with `memchr`; the index of names links entries that share a hash
  (one `usize` per entry, the hash used as it is) instead of one `Vec` per name behind
  SipHash.
- **Connection strings** (second round, profiled with `perf` at 100,000 entries): the
  common pair, `Key Name=value` of printable ASCII, is read without .NET's character-by-character
  state machine (which still reads everything else: quotes, `==`, control characters,
  non-ASCII; a unit test shows the shortcut and the state machine agree on every string of up
  to five of the tokenizer's special characters, and the differential suite against Mono runs
  unchanged); the state machine's scratch `String` is one per connection string, not one per
  pair; the effective pairs (last value wins, `key=` removes) are computed once when the string
  is parsed instead of on every `setting` look-up (lint asks for about ten settings of
  every EWS entry); ASCII keys are validated byte by byte; duplicate keys and entries holding secrets
  are found without allocating; URL user-info is looked for at each `:` rather than with a
  substring searcher built per value. JSON indentation is written with one copy per line
  (`serde_json`'s `PrettyFormatter` writes each level separately: 13 MB of output at 10,000
  entries), and `list` writes each line straight into its buffer. The tokenizer went from 15%
  of `lint` to 5%.
- **Third round** (`perf`, 100,000 entries): the `url` crate was a sixth of `list` and `lint`
  (a full WHATWG parse, three or four per EWS entry). A URL of printable ASCII with a
  letters-digits-hyphens host, which is what K2's settings hold, is now read by
  `lint/http_url.rs` (scheme and host, nothing else); everything else (user info, IP
  addresses, percent signs, backslashes, punycode, odd ports, non-ASCII) still goes to the
  crate, and a unit test compares the two on 200,000 generated strings. A finding's message
  and hint are `Cow<'static, str>`: K2C020 holds the same words for every EWS entry (one of
  three, by date), built once and borrowed, where each finding used to copy about 400 bytes.
  `lint` at 100,000 entries went from 1.06-1.20× `xmlstarlet sel` to 0.85×, `list` from
  1.03× to 0.80×, in paired runs on the same machine.
- **Where the rest of a read goes** (`perf`, 100,000 entries, after the changes above): no
  single hot spot; `malloc`/`free` about 10% (every pair's key, folded key and value, every
  entry's name, value and location path are owned `String`s), the tokenizer 4-6%, key
  comparisons against the kind's schema 3%. `list --json` spent 13-15% in `serde_json`'s
  string escaping, a byte-by-byte loop inside the crate that its `Formatter` cannot replace.
  Going further needs the parsed connection string to borrow from the file (spans instead of
  `String`s), a change of the `connstr` API that every edit path uses.
- **JSON** (fourth round): every JSON document is now written by `crates/cli/src/json.rs`, a
  `serde::Serializer` that writes what `serde_json::to_writer_pretty` writes, byte for byte
  (unit tests compare the two on 2,000 generated documents, every shape of serde's data model
  and the map keys `serde_json` refuses; the CLI's JSON tests run unchanged). Strings are
  searched for a byte that needs an escape 16 bytes at a time, with a test the compiler turns
  into vector instructions, and copied whole when there is none; output collects in one
  buffer handed to the writer every 64 KiB. Why not another crate: `sonic-rs` and `simd-json`
  serialize faster but bring their own unsafe SIMD code and formatters, for a problem of
  about 250 lines. The escape went from 13-15% of `list --json` to 9%, most of which is now
  the cost of a call per string (about 65 strings per entry); by itself that made
  `list --json` only a few percent faster.
- **`list --json` on two threads** (`crates/cli/src/entries.rs`): writing an entry costs about
  as much as reading and checking it, so the entries are cut into chunks of 256; a second
  thread reads, checks and writes the odd chunks as JSON text while the first does the even
  ones, and the chunks go out in file order (a unit test compares the result with one
  thread's through `serde_json`, across chunk boundaries, with a kind filter and with
  section-wide findings; the 1,000-, 10,000- and 100,000-entry outputs are byte-identical to
  the previous version's). Each thread does all the work of its own entries: a first version
  that read on one thread and wrote on the other cost 40% more CPU than it saved, freeing
  the other thread's allocations and waking it for every batch. Chunk buffers go back to the
  thread that made them, and a chunk's text goes to the output without another copy. Wall
  time went from 1.18× `xmlstarlet sel` to about 0.95× at 10,000 entries; CPU time stays
  about 1.2-1.3× (the table's CPU column), since the work is the same, only shared. A real
  K2 config (one chunk) starts no thread.
- **Peak memory**: the file is read once into one buffer that becomes the text in place
  (no second copy; UTF-8 is validated, not converted); entries are read one at a time and
  dropped. The floor is the process itself (see "Start-up alone" above), which is why the
  ratio at 10,000 entries is far above the one at 100,000: 3× a 2.4 MB file is 7.0 MiB, and
  start-up alone is about 6 MiB, of which about 1.2 MiB are the PIE executable's relocations
  (`.rela.dyn`, 690 KB, read at start, and the 490 KB of `.data.rel.ro` they dirty) and 1.3 MiB
  libc. Since the file's own 2.4 MB must be resident while it is read (as text or as mapped
  pages alike), RSS ≤ 3× the file at 10,000 entries would need start-up under about 4.5 MiB.
- **Triple DES**: AWS-LC through `aws-lc-rs` (feature `legacy-des`): its DES is the table-driven
  C implementation of OpenSSL/BoringSSL, about three times the speed of the `des` crate, it is
  already in the dependency tree (rustls), is maintained by AWS with FIPS validation, and needs
  no `unsafe` in k2cse. Output is byte-identical to the `des` crate's (a unit test compares
  both directions); keys AWS-LC refuses as weak or degenerate (which .NET refuses too) fall
  back to the `des` crate, so every file that opened before still opens. AES stays with the
  `aes` crate, which already uses AES-NI. IVs and session keys come from `rand`. Triple DES is still slow
  by nature (48 rounds per 8 bytes): a 10,000-entry encrypted section is 2.4 MB decrypted and
  encrypted again on every save, which is why goal 4 at 10,000 entries is far from 2×:
  `openssl speed -evp des-ede3-cbc` does 24 MB/s on this machine, so decrypting and
  encrypting 2.4 MB costs about 200 ms of CPU at OpenSSL's own speed, against about 15 ms for
  the whole plain `set`; `perf` puts 69% of the encrypted `set` in AWS-LC's `DES_encrypt2`.
  The cipher's semantics (a fresh session key and IV on every save, as .NET writes it) mean
  the whole section is encrypted again; CBC encryption is sequential, so a second core could
  halve only the decryption. 2× is out of reach with Triple DES. For comparison (one run,
  `perf stat`, same 10,000 entries): plain `set` 12.5 ms of CPU, Triple DES 250 ms, AES-256
  (`protect --algorithm aes256-cbc`, AES-NI) 66 ms; the ~50 ms left with AES is base64 of
  3.2 MB each way, reading the `<EncryptedData>` element and indexing the decrypted section.
- **Encrypted `set` at the real size**: the extra CPU was the RSA private-key operation that
  opens the session key (`perf`: 45% of the encrypted `set`, about 3 ms, in `crypto-bigint`'s
  constant-time Montgomery multiplication, through the `rsa` crate; `openssl speed rsa2048`
  signs in 0.26 ms on the same machine). It now runs in AWS-LC (`protect/private_half.rs`):
  the key is handed over as PKCS#8 DER (wiped when dropped), and keys AWS-LC does not take
  (under 2048 bits, multi-prime) stay with the `rsa` crate; unit tests show both give the same
  bytes for both paddings, for XML and PEM keys. Building the `rsa` crate's key (its checks
  and CRT precomputation) then cost about half as much again, so an `<RSAKeyValue>` export,
  which carries every CRT value, goes to AWS-LC as it is and the `rsa` crate's key is built
  only when something needs it (a PEM export, a key AWS-LC refuses, or a decryption AWS-LC
  does not manage, which the `rsa` crate then decides as it always did). AWS-LC blinds the operation with random bytes, and its
  generator used to collect CPU jitter entropy on the first draw (~50 ms, the cost goal 5 met
  in `db` commands): the build sets `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (`.cargo/config.toml`,
  a documented `aws-lc-sys` option), so it seeds from the operating system (`getrandom`), as
  `ring`, `rand` and OpenSSL do. Jitter entropy is an extra source that FIPS builds need; k2cse
  is not one. The rest of the extra cost (reading the key file, Triple DES of a few KiB, the
  public-key operation for the new session key) is under 0.5 ms.
- **Database start-up**: the CLI installs rustls' `ring` provider at start; tiberius uses the
  installed provider. aws-lc-rs, rustls' default, used to seed its random generator with CPU
  jitter entropy on first use (~50 ms of CPU per `db` command; the build no longer enables
  that source, see above, but `ring` stays: it was measured, and it is smaller). The simulator picks the installed
  provider too (and names aws-lc-rs explicitly otherwise: rustls refuses to guess when a
  build enables both).
- **fsyncs in a save** (`save.rs` and `backup/store.rs`, a comment at each): four with the
  automatic backup, two with `--no-backup`, and none can go without breaking "after a crash of
  the machine (power loss, kernel panic), the config is the old file or the new one, and a
  replaced config has its backup on disk". (1) The backup archive's data, before it gets its
  name: else a crash can leave an empty or torn archive under a backup's name, the config
  already replaced (only ext4 in `data=ordered` mode writes a file's data before its rename;
  XFS, btrfs and NTFS promise nothing of the kind). (2) The backup folder, after that rename
  and before the config is replaced: it cannot be folded into (4), which flushes another
  folder (POSIX orders nothing between two folders' entries), and deferring it past the
  config's rename reopens the very window the backup exists for (a new config on disk, its
  backup's name lost). (3) The new config's temporary file, before the rename: else a crash
  can leave an empty or partial config under the real name. (4) The config's folder, after
  the rename: else a crash can undo the rename, and the edit the user was told is saved
  vanishes. `--no-backup` needs only (3) and (4). A killed process needs none of them (the
  page cache outlives it; tests/tests/crash_safety.rs kills with SIGKILL); they are for the
  machine going down. What changed is when they wait: the temporary file is written and
  flushed on a second thread while the first checks the file on disk and writes, flushes and
  names the backup, so (1)–(2) and (3) wait on the disk at the same time; the rename waits for
  both, so the order above holds. `fdatasync` would save nothing: a new file's size is
  metadata that has to reach the disk anyway. xmlstarlet does none.
- **One edit** (`set`): the file is read once, decoded in place and indexed (the XML scan of
  the whole file, which well-formedness needs, is most of the CPU left); only the touched
  entry is linted; the edit is a splice of the attribute's bytes; the new file is written
  from the text itself (no encoded copy for UTF-8); the check that the file on disk is still
  what was loaded reads and hashes it once (the backup hashes it on the way in the same
  pass). A UTF-8 file's digest as loaded is its fingerprint (no second hash of the text), and
  the text is wiped on drop a word at a time (`zeroize` of a `String` writes byte by byte: 5%
  of a `set` at 10,000 entries). Peak RSS is the floor of the process (6.1 MiB, 2.6× a 2.4 MB
  file by itself) plus the text and its index: 3× the file would leave under 1 MB for a
  2.4 MB text that the edit model holds, so the RSS goal cannot be met at 10,000 entries
  without shrinking the executable's start-up footprint.
- **Batches** (`apply`): the names of the section are read once per batch and kept up to date
  (an index by folded name) instead of being re-read by every change; adding an entry after
  the last one is a splice that checks only the new element and shifts the spans after it,
  not a re-scan of the file; value edits keep the names, shifted. Removes and renames still
  re-read the section (each is one pass). An added entry's connection string is built in one
  go (`config/new_entry.rs`) when no two of its keys name the same setting: setting four keys
  one by one re-read the growing string four times, a tenth of a 2,000-add batch; a unit test
  compares the two ways on 20,000 generated key lists, and the 2,000-add result is
  byte-identical to the previous version's.
- **GUI**: opening a file and undo no longer check every entry by looking it up among all
  the others (O(N²)): opening reads every entry once; undo re-checks only the entries the
  undone step touched.
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--goals", default="1,2,3,4,5,7,8")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    goals = {int(g) for g in args.goals.split(",")}
    sizes = [int(s) for s in args.sizes.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "k2cse", "-p", "k2cse-mssql-sim"], check=True, cwd=ROOT)
    results_file = OUT / "results.json"
    # Goals not measured in this run keep their last figures (say so in the page's run line).
    r = json.loads(results_file.read_text()) if results_file.exists() else {}
    big = [n for n in sizes if n >= 10_000]
    when = r.setdefault("when", {})
    for key, goal_set_, measure in (
        ("reads", {1, 2}, lambda: goal_reads(big, args.runs)),
        ("set", {3}, lambda: goal_set(10_000, args.runs)),
        ("encrypted", {4}, lambda: goal_encrypted(args.runs)),
        ("db", {5}, lambda: goal_db(args.runs)),
        ("apply", {7}, lambda: goal_apply(args.runs)),
        ("linear", {8}, lambda: goal_linear(sizes, args.runs)),
    ):
        if goals & goal_set_:
            r[key] = measure()
            when[key] = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}, {args.runs} rounds"
    info = machine()
    results_file.write_text(json.dumps(r, indent=2))
    doc = ROOT / "docs" / "performance.md"
    marker = "<!-- gui-frames -->"
    kept = ""
    if doc.exists() and marker in doc.read_text():
        kept = "\n" + doc.read_text()[doc.read_text().index(marker):]
    doc.write_text(report(r, info, args.runs) + kept)
    for goal, what, measured, limit, v in summary(r):
        print(f"goal {goal}: {what}: {measured} (target {limit}): {v}")


if __name__ == "__main__":
    main()
