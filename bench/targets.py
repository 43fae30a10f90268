#!/usr/bin/python3
"""targets.py RESULT.json: the issue's speed targets for sftpkit, as ratios to OpenSSH measured in
the same run (sftp-bench's JSON). Prints one line per target: the ratio, the target, and whether it
is met. On this 2-core shared machine a ratio within 0.85-1.15, or with p > 0.05, says nothing."""
import json
import sys

# (metric as sftp-bench names it, comparison, target ratio sftpkit/OpenSSH, what it means)
TARGETS = [
    ('upload aes128-gcm', '>=', 1.2, 'upload MB/s'),
    ('download aes128-gcm', '>=', 1.1, 'download MB/s'),
    ('smallfiles put -r', '>=', 1.2, 'small files put, files/s'),
    ('smallfiles get -r', '>=', 1.2, 'small files get, files/s'),
    ('listdir ls -l', '<=', 1.0, '`ls -l` time'),
    ('parallel', '>=', 1.1, 'parallel downloads, aggregate MB/s'),
    ('connect latency', '<=', 0.5, 'connect + auth + first reply'),
    ('idle', '<=', 0.3, 'idle sessions, server PSS'),
    ('server CPU upload aes128-gcm', '<=', 0.7, 'server CPU s/GiB, upload'),
    ('server CPU download aes128-gcm', '<=', 0.7, 'server CPU s/GiB, download'),
]


def find(rows, prefix):
    for r in rows:
        m = r['metric']
        if m == prefix or (m.startswith(prefix) and not m.startswith('idle PSS') and 'open time' not in m
                           and 'RSS' not in m):
            return r
    return None


def main():
    with open(sys.argv[1]) as f:
        res = json.load(f)
    rows = res['results']
    names = [t.split('=', 1)[0] for t in res['targets']]
    ref, us = names[0], names[1]
    print(f'\nTargets for {us} as ratios to {ref} (same run):')
    met = 0
    for prefix, op, want, what in TARGETS:
        r = find(rows, prefix)
        s = r and r['targets'].get(us)
        if not s or 'ratio_to_ref' not in s:
            print(f'  {what:38s}  not measured')
            continue
        ratio, p = s['ratio_to_ref'], s.get('p_vs_ref')
        ok = ratio >= want if op == '>=' else ratio <= want
        met += ok
        ptxt = f'p={p:.3f}' if p is not None else 'p=-'
        print(f'  {what:38s}  {ratio:5.2f}  (target {op} {want})  {ptxt:8s}  {"met" if ok else "NOT MET"}')
    print(f'  {met} of {len(TARGETS)} targets met')


if __name__ == '__main__':
    main()
