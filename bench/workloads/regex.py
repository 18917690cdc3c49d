"""regex: log lines parsed with regular expressions. Generates n lines of a
web-server-like log, then matches each with a compiled pattern, pulls
fields, rewrites IP addresses with re.sub and counts paths and status codes.
Most time is in the C regex engine, called from short Python frames.

run(n) processes n lines; the hot line runs once per line, n times.
"""
import re

LINE = re.compile(r'(?P<ip>\d+\.\d+\.\d+\.\d+) - (?P<user>\S+) \[(?P<when>[^\]]+)\] '
                  r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]" (?P<status>\d{3}) (?P<size>\d+)')
IP = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\.(\d+)\b")
QUERY = re.compile(r"[?&]([a-z]+)=([^&]*)")
PATHS = ["/", "/index.html", "/api/users", "/api/items?id=42&sort=asc", "/static/app.js",
         "/login?next=/account", "/search?q=holter&page=2&lang=en"]
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
STATUSES = ["200", "200", "200", "304", "404", "500"]


def make_log(n, seed=777):
    lines = []
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF       # a fixed LCG: same log everywhere
        ip = "%d.%d.%d.%d" % (10 + x % 200, (x >> 8) & 255, (x >> 16) & 255, (x >> 4) & 255)
        lines.append('%s - user%d [10/Oct/2024:13:%02d:%02d +0000] "%s %s HTTP/1.1" %s %d'
                     % (ip, x % 50, (x >> 3) % 60, i % 60, METHODS[x % len(METHODS)],
                        PATHS[(x >> 5) % len(PATHS)], STATUSES[(x >> 7) % len(STATUSES)],
                        (x >> 2) % 100000))
    return lines


def anonymize(m):
    return "%s.%s.x.x" % (m.group(1), m.group(2))


def run(n):
    paths, statuses, params = {}, {}, {}
    size = 0
    for line in make_log(n):
        m = LINE.match(line)  # hot
        if m is None:
            continue
        path = m.group("path")
        paths[path] = paths.get(path, 0) + 1
        statuses[m.group("status")] = statuses.get(m.group("status"), 0) + 1
        size += int(m.group("size"))
        for key, value in QUERY.findall(path):
            params[key] = params.get(key, 0) + len(value)
        IP.sub(anonymize, line)
    return len(paths), statuses, params, size


def expected_hot(n):
    return n
