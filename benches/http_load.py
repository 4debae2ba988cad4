#!/usr/bin/env python3
"""Decisions per second over HTTP: `nesy serve` under a load generator.

Starts `nesy serve` on the credit example on loopback and drives
`POST /v1/decide/decision` with `wrk` (32 connections by default; each
request a new applicant id), once without and once with the decision log.
Prints decisions/s, latency percentiles and errors, as a Markdown table.

    cargo build --release -p nesy-cli
    python3 benches/http_load.py                # 10 s per run
    python3 benches/http_load.py --seconds 30 --connections 64

`wrk` is Debian's package: the script installs it with apt-get when it is
missing and it runs as root; otherwise it says how. The server and the
load generator share the machine's cores: on 2 cores the figures are what
the server does with what wrk leaves it.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Each request asks about a new applicant (ids are never reused), with
# income, debt and years varying, as a service sees them.
LUA = r"""
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local income = 20000 + (counter * 7919) % 150000
  local debt = (counter * 104729) % 60000
  local years = counter % 30
  local body = string.format(
    '{"input": {"applicant": [["req%d", %d, %d, %d]]}}',
    counter, income, debt, years)
  return wrk.format(nil, "/v1/decide/decision", nil, body)
end
"""


def ensure_wrk():
    """The path of wrk, installing Debian's package when allowed."""
    found = shutil.which("wrk")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install -y wrk)", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                       stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("wrk is needed: `sudo apt-get install wrk` (Debian/Ubuntu)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, server, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"nesy serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    sys.exit("nesy serve did not become healthy")


def check_one(port):
    """One decision by hand: the server answers what the load will ask."""
    body = json.dumps({"input": {"applicant": [["probe", 90000, 1000, 10]]}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/decide/decision", data=body,
        headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as r:
        answer = json.load(r)
    if "results" not in answer:
        sys.exit(f"unexpected answer: {answer}")


def seconds(text):
    """wrk's durations (`812.00us`, `1.20ms`, `2.00s`) in seconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(2)]
    return float(m.group(1)) * scale


def parse(output):
    """Requests/s, latency percentiles and errors from wrk --latency."""
    result = {"errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", output)
    result["requests"] = int(m.group(1)) if m else 0
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}(?:\.000)?%\s+(\S+)", output, re.M)
        result[f"p{p}"] = seconds(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if m:
        result["errors"] += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        result["errors"] += sum(int(x) for x in m.groups())
    return result


def run(binary, wrk, args, log_dir=None):
    port = free_port()
    command = [binary, "serve", "--rules", os.path.join(ROOT, "rules", "credit.nesy"),
               "--addr", f"127.0.0.1:{port}"]
    if log_dir:
        command += ["--decision-log", os.path.join(log_dir, "decisions.jsonl")]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(port, server)
        check_one(port)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA)
            script = f.name
        try:
            out = subprocess.run(
                [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
                 "--latency", "-s", script, f"http://127.0.0.1:{port}"],
                check=True, capture_output=True, text=True).stdout
        finally:
            os.unlink(script)
        if args.verbose:
            print(out, file=sys.stderr)
        result = parse(out)
        if log_dir:
            with open(os.path.join(log_dir, "decisions.jsonl")) as f:
                result["logged"] = sum(1 for _ in f)
        return result
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "nesy"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    parser.add_argument("--no-log-run", action="store_true",
                        help="skip the run with the decision log on")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: cargo build --release -p nesy-cli")
    wrk = ensure_wrk()
    rows = [("decision log off", run(args.binary, wrk, args))]
    if not args.no_log_run:
        with tempfile.TemporaryDirectory() as log_dir:
            rows.append(("decision log on", run(args.binary, wrk, args, log_dir)))
    print(f"credit example, {args.connections} connections, {args.seconds} s, "
          f"{os.cpu_count()} cores shared with wrk (-t{args.threads})\n")
    print("| run | decisions/s | p50 | p90 | p99 | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['rps']:,.0f} | {r['p50'] * 1e3:.2f} ms | {r['p90'] * 1e3:.2f} ms "
              f"| {r['p99'] * 1e3:.2f} ms | {r['errors']} |")
    for name, r in rows:
        if "logged" in r and r["logged"] < r["requests"]:
            print(f"\n{name}: {r['logged']} log lines for {r['requests']} requests",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
