#!/usr/bin/env python3
"""The markdown table of a bench/nodes.sh run, from its results folder (printed to stdout).

Usage: nodes-summary.py OUT SQUADS. Reads OUT/meta.txt, OUT/results.txt (one line per measured
run: tool mode run wall logins/node sessions/node max-logins-on-one-node rss changed), each run's
`/usr/bin/time -v` file (controller CPU: user + system seconds) and OUT/cross.txt. A separate
file so that a finished run's table can be made again without booting nodes.
"""
import os
import re
import statistics
import sys

out, squads = sys.argv[1], int(sys.argv[2])


def cpu_seconds(tag):
    """User + system seconds of the controller (the tool and its children) from time -v."""
    text = open(os.path.join(out, tag + ".time")).read()
    return sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", text))


runs = {}
for line in open(os.path.join(out, "results.txt")):
    tool, mode, run, wall, logins, sessions, _most, rss, _changed = line.split()
    cpu = cpu_seconds(f"{tool}-{mode}-{run}")
    runs.setdefault((tool, mode), []).append((float(wall), cpu, logins, sessions, rss))


def med(tool, mode, col=0):
    r = runs.get((tool, mode))
    return statistics.median(x[col] for x in r) if r else None


def last(tool, mode):
    r = runs.get((tool, mode))
    return r[-1] if r else None


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.1f}×"


def pair(tool, mode):
    x = last(tool, mode)
    return f"{x[2]} / {x[3]}" if x else "–"


def rss(tool, mode):
    x = last(tool, mode)
    return x[4] if x else "–"


print(open(os.path.join(out, "meta.txt")).read())
n_runs = max((len(r) for r in runs.values()), default=0)
print(f"Wall seconds and controller CPU seconds (user + system): median of {n_runs} run(s). SSH logins /"
      f" session channels per node ({squads} squads each, from the nodes' sshd logs) and the controller's"
      " peak RSS (MiB) are the last run's.\n")
print("| tool | cold s | no-op s | cold ÷ recon | no-op ÷ recon | ÷ floor (cold / no-op)"
      " | controller CPU s (cold / no-op) | logins/sessions per node, cold | same, no-op | RSS MiB cold / no-op |")
print("|---|---|---|---|---|---|---|---|---|---|")
floor = med("floor", "ssh")
rc, rn = med("recon", "cold"), med("recon", "noop")
for tool in ("recon", "ansible", "pyinfra"):
    c, n = med(tool, "cold"), med(tool, "noop")
    if c is None and n is None:
        continue
    print(f"| {tool} | {fmt(c)} | {fmt(n)} | {ratio(c, rc)} | {ratio(n, rn)} | {ratio(c, floor)} / {ratio(n, floor)}"
          f" | {fmt(med(tool, 'cold', 1), 1)} / {fmt(med(tool, 'noop', 1), 1)}"
          f" | {pair(tool, 'cold')} | {pair(tool, 'noop')} | {rss(tool, 'cold')} / {rss(tool, 'noop')} |")
if floor is not None:
    print(f"| floor (`ssh true` per target) | {fmt(floor)} | | | | | {fmt(med('floor', 'ssh', 1), 1)}"
          f" | {pair('floor', 'ssh')} | | {rss('floor', 'ssh')} |")
cross = os.path.join(out, "cross.txt")
if os.path.exists(cross):
    print("\nsame-work check: " + "; ".join(line.strip() for line in open(cross)))
