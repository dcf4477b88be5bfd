"""Times API calls of a running `rapport ui` (bench/ui.sh): logs in with the one-time link,
keeps the session cookie in COOKIE_FILE (for the browser part), then makes each call 51 times
over one keep-alive connection and prints the median and 95th percentile of the last 50.

    python3 bench/ui_api.py URL COOKIE_FILE 'label=/api/path?query' ...
"""
import http.client
import statistics
import sys
import time
import urllib.parse

BUDGET_MS = 50


def main():
    url, cookie_file, *specs = sys.argv[1:]
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.request("GET", f"/?{u.query}")
    r = conn.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie").split(";")[0]
    with open(cookie_file, "w") as f:
        f.write(cookie)
    print(f"{'API call':34} {'median':>9} {'p95':>9}  budget p95 < {BUDGET_MS} ms")
    over = 0
    for spec in specs:
        label, path = spec.split("=", 1)
        times = []
        for i in range(51):
            t = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
            if i:
                times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        over += p95 >= BUDGET_MS
        print(f"{label:34} {statistics.median(times):7.1f} ms {p95:7.1f} ms  {'ok' if p95 < BUDGET_MS else 'OVER'}")
    print(f"{len(specs) - over} of {len(specs)} calls within the budget")


if __name__ == "__main__":
    main()
