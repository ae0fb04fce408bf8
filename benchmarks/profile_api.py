"""cProfile of the read, metadata and cached rendition paths in this process, through Django.

    .venv/bin/python benchmarks/profile_api.py [--requests 2000] [--top 25]

A fresh temporary data dir on the embedded defaults (SQLite, filesystem storage); an app, a
2 KiB file and a 640x480 JPEG; then `--requests` GETs of each of /bench/bare, the metadata, the
2 KiB read and a cached rendition through django.test.Client (WSGI handler, every middleware,
DRF), the body consumed as a WSGI server would. Prints the time per request of each and the
functions with the most cumulative time for the others. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

from harness import request_path_rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    with request_path_rows("openpicker-profile-") as rows:
        from django.test import Client

        client = Client(HTTP_HOST="127.0.0.1:8000")
        names = ("bare DRF view", "metadata", "read 2 KiB", "cached rendition")
        paths = {name: rows[name] for name in names}
        for name, path in paths.items():
            response = client.get(path)
            assert response.status_code == 200, (name, response.status_code)
        for name, path in paths.items():
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for _ in range(args.requests):
                response = client.get(path)
                b"".join(response) if response.streaming else response.content
                response.close()
            profiler.disable()
            per = (time.perf_counter() - started) / args.requests * 1e6
            print(f"\n=== {name}: {per:.0f} us per request (under the profiler) ===")
            if name != "bare DRF view":
                stats = pstats.Stats(profiler, stream=sys.stdout)
                stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
