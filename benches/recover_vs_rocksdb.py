#!/usr/bin/env python3
"""WAL recovery: `drkit recover` against RocksDB (Debian's rocksdb-tools: `ldb`) replaying the
same entries, in one run.

For each shape (1 KB random values; exchange records) it builds a drkit data dir whose every
entry is still only in the WAL (`drkit bench recover --build-only`), exports those entries
with `drkit inspect wal --json --hex` (the stored key and value bytes) and loads them into a
RocksDB dir with `ldb load`, its memtable large enough that they too stay in its WAL only.
Both sides then have the same entries, in the same order, with the same bytes.

Each pair recovers a fresh copy of each dir, alternating which goes first, after `sync`, so
both read their log from the page cache and no writeback of the copy competes with their
fsyncs. Two milestones, counted from the start of the open:

- ready: the store accepts reads and writes. drkit: the report's `ready`. RocksDB: an open
  with avoid_flush_during_recovery=true (set in the copy's OPTIONS file), from the first LOG
  line to "DB pointer"; the replayed memtable then stays in memory with its WAL.
- flushed: everything replayed is in fsynced SSTs. drkit: the report's `flushed` (`drkit
  recover` ends recovery with a flush). RocksDB: its default open, which writes the replayed
  memtable to L0 ("WriteLevel0TableForRecovery") before "DB pointer".

The whole process's wall time of the flushed run is printed too. RocksDB replays its log on
one thread; drkit reads and checks segments in parallel on every core. Both compress tables
with zstd at level 3 and store a block raw when compression saves less than 1/8.

    cargo build --release && python3 benches/recover_vs_rocksdb.py --pairs 3
"""
import argparse, datetime, glob, json, os, re, shutil, statistics, subprocess, sys, tempfile, time

DRKIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "drkit")
# Room for the whole log in one memtable, so loading never flushes (ldb reads an int).
ROCKSDB_WRITE_BUFFER = 2_000_000_000
LOG_TIME = re.compile(r"^(\d{4}/\d\d/\d\d-\d\d:\d\d:\d\d\.\d{6}) ")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build_drkit(path, records, value_size):
    run([DRKIT, "bench", "recover", "--quiet", "--build-only", "--dir", path,
         "--records", str(records), "--value-size", str(value_size)])


def export_and_load(drkit_dir, rocks_dir):
    """Feeds every data entry of the drkit WAL, in log order, to `ldb load`."""
    inspect = subprocess.Popen([DRKIT, "inspect", "wal", drkit_dir, "--json", "--hex"],
                               stdout=subprocess.PIPE, text=True)
    load = subprocess.Popen(["ldb", f"--db={rocks_dir}", "--create_if_missing", "--hex",
                             f"--write_buffer_size={ROCKSDB_WRITE_BUFFER}",
                             "--compression_type=zstd", "load"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    entries = others = 0
    for line in inspect.stdout:
        o = json.loads(line)
        if o.get("type") != "entry":
            continue
        if o["entry_type"] in ("checkpoint", "seal"):
            continue
        if o["entry_type"] in ("delete", "batch"):
            others += 1
            continue
        load.stdin.write(f"{o['key_hex']} ==> {o['value_hex']}\n")
        entries += 1
    load.stdin.close()
    if inspect.wait() != 0 or load.wait() != 0:
        sys.exit("exporting the drkit WAL into ldb load failed")
    if others:
        sys.exit(f"{others} deletes or batches in the log: ldb load takes puts only")
    if glob.glob(f"{rocks_dir}/*.sst"):
        sys.exit("ldb load flushed an SST: the RocksDB log no longer holds every entry")
    return entries


def fresh_copy(src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    run(["sync"])


def log_seconds(log_path, until):
    """Seconds from the first LOG line to the first line containing `until`."""
    start = end = None
    with open(log_path) as f:
        for line in f:
            m = LOG_TIME.match(line)
            if not m:
                continue
            t = datetime.datetime.strptime(m.group(1), "%Y/%m/%d-%H:%M:%S.%f")
            if start is None:
                start = t
            if until in line:
                end = t
                break
    if start is None or end is None:
        sys.exit(f"{log_path}: no line with {until!r}")
    return (end - start).total_seconds()


def rocksdb_recover(src, dst, avoid_flush):
    fresh_copy(src, dst)
    if avoid_flush:
        opts = sorted(glob.glob(f"{dst}/OPTIONS-*"))[-1]
        with open(opts) as f:
            text = f.read()
        with open(opts, "w") as f:
            f.write(text.replace("avoid_flush_during_recovery=false",
                                 "avoid_flush_during_recovery=true"))
    t = time.monotonic()
    # A read-write open (ldb's get opens read-only), then one tiny write.
    run(["ldb", f"--db={dst}", "--hex", "put", "0x00", "0x00"], stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t
    ssts = glob.glob(f"{dst}/*.sst")
    if avoid_flush == bool(ssts):
        sys.exit(f"{dst}: expected {'no' if avoid_flush else 'an'} SST after recovery")
    return log_seconds(f"{dst}/LOG", "DB pointer"), wall


def drkit_recover(src, dst):
    fresh_copy(src, dst)
    t = time.monotonic()
    out = run([DRKIT, "recover", dst, "--json"], capture_output=True, text=True).stdout
    wall = time.monotonic() - t
    report = json.loads(out.splitlines()[0])["report"]
    return report["ready"], report["flushed"], wall, report["replayed"], report["wal_bytes"]


def wal_bytes(path, pattern):
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(path, pattern)))


def shape(root, name, records, value_size, pairs):
    src_d, src_r = f"{root}/{name}-drkit", f"{root}/{name}-rocksdb"
    build_drkit(src_d, records, value_size)
    loaded = export_and_load(src_d, src_r)
    rows = []
    for i in range(pairs):
        def d():
            return drkit_recover(src_d, f"{root}/copy-drkit")

        def r():
            ready, _ = rocksdb_recover(src_r, f"{root}/copy-rocksdb", True)
            flushed, wall = rocksdb_recover(src_r, f"{root}/copy-rocksdb", False)
            return ready, flushed, wall
        if i % 2 == 0:
            dk = d(); rk = r()
        else:
            rk = r(); dk = d()
        rows.append((dk, rk))
    replayed, drkit_wal = rows[0][0][3], rows[0][0][4]
    if replayed != loaded:
        sys.exit(f"{name}: drkit replayed {replayed} entries, RocksDB was loaded with {loaded}")
    med = lambda xs: statistics.median(xs)
    d_ready, d_flushed, d_wall = (med([r[0][k] for r in rows]) for k in range(3))
    r_ready, r_flushed, r_wall = (med([r[1][k] for r in rows]) for k in range(3))
    return {
        "shape": name, "entries": loaded,
        "drkit_wal_mb": drkit_wal / 1e6,
        "rocksdb_wal_mb": wal_bytes(src_r, "*.log") / 1e6,
        "drkit": {"ready_s": d_ready, "flushed_s": d_flushed, "process_s": d_wall},
        "rocksdb": {"ready_s": r_ready, "flushed_s": r_flushed, "process_s": r_wall},
    }


def print_row(s):
    n = s["entries"]
    print(f"\n{s['shape']}: {n} entries; WAL drkit {s['drkit_wal_mb']:.0f} MB, "
          f"RocksDB {s['rocksdb_wal_mb']:.0f} MB")
    print(f"{'':10}{'ready':>30}{'flushed':>30}{'process':>10}")
    for who in ("drkit", "rocksdb"):
        x = s[who]
        wal = s["drkit_wal_mb" if who == "drkit" else "rocksdb_wal_mb"]
        cell = lambda t: f"{t:.3f} s {wal / t:5.0f} MB/s {n / t / 1e6:4.2f} M/s"
        print(f"{who:10}{cell(x['ready_s']):>30}{cell(x['flushed_s']):>30}"
              f"{x['process_s']:>8.2f} s")
    ratio = lambda k: s["rocksdb"][k] / s["drkit"][k]
    print(f"{'drkit x':10}{ratio('ready_s'):>29.2f}x{ratio('flushed_s'):>29.2f}x"
          f"{s['rocksdb']['process_s'] / s['drkit']['process_s']:>9.2f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--kb-records", type=int, default=1_000_000,
                    help="entries of the 1 KB-value shape (1M: 1 GB of log)")
    ap.add_argument("--exchange-records", type=int, default=3_000_000)
    ap.add_argument("--dir", default=None, help="work dir (default: a temporary one)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not shutil.which("ldb"):
        sys.exit("ldb not found: apt-get install rocksdb-tools")
    root = a.dir or tempfile.mkdtemp(prefix="drkit-recover-vs-rocksdb-")
    os.makedirs(root, exist_ok=True)
    try:
        results = [shape(root, "1kb-values", a.kb_records, 1000, a.pairs),
                   shape(root, "exchange", a.exchange_records, 0, a.pairs)]
    finally:
        if not a.dir:
            shutil.rmtree(root, ignore_errors=True)
    if a.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"median of {a.pairs} alternating pairs")
        for s in results:
            print_row(s)


if __name__ == "__main__":
    main()
