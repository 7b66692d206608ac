#!/usr/bin/env python3
"""`drkit backup create` and `drkit restore` against `tar -cf - | zstd -T0 -3` and
`zstd -d | tar -x`, on the same data dir, in one run.

For each data shape (exchange records; random, incompressible 200-byte values) it builds a
data dir with `drkit bench backup --build-only`, then for each thread count alternates the
two tools (drkit first in odd pairs, tar first in even ones) and prints the median of the
pairs. Both sides end durable: drkit fsyncs every file; the tar side is followed by `sync`
of its output. The disk's own sequential write speed (`dd ... conv=fdatasync`) is printed
beside, since a backup cannot beat it.

    cargo build --release && python3 benches/backup_vs_tar.py --size-mb 500 --pairs 3
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

DRKIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "drkit")


def timed(cmd, shell=False):
    t = time.monotonic()
    subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def dd_mb_per_s(root):
    out = subprocess.run(["dd", "if=/dev/zero", f"of={root}/dd.bin", "bs=1M", "count=1024",
                          "conv=fdatasync"], capture_output=True, text=True, check=True).stderr
    os.remove(f"{root}/dd.bin")
    secs = float(out.strip().splitlines()[-1].split(",")[-2].split()[0])
    return 1024 * 1048576 / 1e6 / secs


def backup_pair(data, root, threads, drkit_first):
    repo, tarball = f"{root}/repo", f"{root}/data.tar.zst"
    shutil.rmtree(repo, ignore_errors=True)
    if os.path.exists(tarball):
        os.remove(tarball)
    zstd_t = threads
    run_drkit = lambda: timed([DRKIT, "backup", "create", "--quiet", "--type", "full",
                               "--threads", str(threads), "--repo", repo, "--data", data])
    run_tar = lambda: timed(f"tar -cf - -C {data} . | zstd -q -T{zstd_t} -3 -o {tarball} "
                            f"&& sync {tarball}", shell=True)
    if drkit_first:
        d = run_drkit(); t = run_tar()
    else:
        t = run_tar(); d = run_drkit()
    return d, t, du(f"{repo}/backups"), os.path.getsize(tarball)


def restore_pair(root, threads, drkit_first):
    repo, tarball = f"{root}/repo", f"{root}/data.tar.zst"
    a, b = f"{root}/restored-drkit", f"{root}/restored-tar"
    for p in (a, b):
        shutil.rmtree(p, ignore_errors=True)
    os.makedirs(b)
    run_drkit = lambda: timed([DRKIT, "restore", "--quiet", "--threads", str(threads),
                               "--repo", repo, "--target", a])
    run_tar = lambda: timed(f"zstd -q -d -T{threads} -c {tarball} | tar -xf - -C {b} && sync -f {b}",
                            shell=True)
    if drkit_first:
        d = run_drkit(); t = run_tar()
    else:
        t = run_tar(); d = run_drkit()
    return d, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=500, help="SST MB of each data dir")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dir", default=None, help="work dir (default: a temporary one)")
    ap.add_argument("--drkit", default=None, help="the drkit binary (default: target/release)")
    a = ap.parse_args()
    global DRKIT
    DRKIT = a.drkit or DRKIT
    root = a.dir or tempfile.mkdtemp(prefix="drkit-vs-tar-")
    os.makedirs(root, exist_ok=True)
    print(f"disk: dd bs=1M count=1024 conv=fdatasync: {dd_mb_per_s(root):.0f} MB/s")
    rows = []
    for shape, value_size in (("exchange", 0), ("random 200 B values", 200)):
        data = f"{root}/data-{value_size}"
        if not os.path.exists(f"{data}/CURRENT"):
            subprocess.run([DRKIT, "bench", "backup", "--build-only", "--data", data,
                            "--size-mb", str(a.size_mb), "--value-size", str(value_size)],
                           check=True, stdout=subprocess.DEVNULL)
        size = du(data)
        for threads in [int(t) for t in a.threads.split(",")]:
            b, r = [], []
            for i in range(a.pairs):
                d, t, dstored, tstored = backup_pair(data, root, threads, i % 2 == 0)
                b.append((d, t))
                rd, rt = restore_pair(root, threads, i % 2 == 0)
                r.append((rd, rt))
            med = lambda xs: statistics.median(xs)
            bd, bt = med([x[0] for x in b]), med([x[1] for x in b])
            rd, rt = med([x[0] for x in r]), med([x[1] for x in r])
            rows.append(dict(shape=shape, threads=threads, data_mb=size / 1e6,
                             backup_drkit_s=bd, backup_tar_s=bt,
                             backup_speedup=med([x[1] / x[0] for x in b]),
                             backup_drkit_mb_s=size / 1e6 / bd,
                             restore_drkit_s=rd, restore_tar_s=rt,
                             restore_speedup=med([x[1] / x[0] for x in r]),
                             restore_drkit_mb_s=size / 1e6 / rd,
                             stored_drkit_mb=dstored / 1e6, stored_tar_mb=tstored / 1e6,
                             pairs_backup=b, pairs_restore=r))
            x = rows[-1]
            print(f"{shape:22} threads {threads}: {x['data_mb']:.0f} MB | backup drkit "
                  f"{bd:.2f} s ({x['backup_drkit_mb_s']:.0f} MB/s) vs tar+zstd {bt:.2f} s = "
                  f"{x['backup_speedup']:.2f}x | restore drkit {rd:.2f} s "
                  f"({x['restore_drkit_mb_s']:.0f} MB/s) vs zstd+tar {rt:.2f} s = "
                  f"{x['restore_speedup']:.2f}x | stored {x['stored_drkit_mb']:.0f} vs "
                  f"{x['stored_tar_mb']:.0f} MB", flush=True)
    json.dump(rows, sys.stderr, indent=1)
    if not a.dir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
