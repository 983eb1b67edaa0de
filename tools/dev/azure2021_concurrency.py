#!/usr/bin/env python3
"""Per-second time-weighted concurrency of an Azure Functions 2021 trace (app,func,end_timestamp,duration).

What a queue-proxy would report for one service that ran every invocation of the trace: for each whole
second, the integral of in-flight requests over that second. Start = end_timestamp - duration.
Usage: azure2021_concurrency.py TRACE.csv [--scale K] > samples.csv   (K multiplies every invocation).
"""
import csv
import math
import sys


def main() -> int:
    args = sys.argv[1:]
    scale = 1
    if "--scale" in args:
        i = args.index("--scale")
        scale = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    busy = {}
    with open(args[0], newline="") as f:
        for row in csv.DictReader(f):
            end = float(row["end_timestamp"])
            start = end - float(row["duration"])
            second = math.floor(start)
            while second < end:
                overlap = min(end, second + 1) - max(start, second)
                busy[second] = busy.get(second, 0.0) + overlap * scale
                second += 1
    print("time_s,concurrency")
    for second in range(min(busy), max(busy) + 1):
        print(f"{second - min(busy)},{round(busy.get(second, 0.0), 6):g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
