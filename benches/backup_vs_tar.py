#!/usr/bin/env python3
"""`drkit backup create` and `drkit restore` against `tar -cf - | zstd -T0 -3` and
`zstd -d | tar -x`, on the same data dir, in one run.

For each data shape (exchange records; random, incompressible 200-byte values) it builds a
data dir with `drkit bench backup --build-only`, then for each thread count alternates the
two tools (drkit first in odd pairs, tar first in even ones) and prints the median of the
pairs. Both sides end durable: drkit fsyncs every file; the tar side is followed by `sync`
of its output. The disk's own sequential write speed (`dd ... conv=fdatasync`) is printed
beside, since a backup cannot beat it.

With `--s3 moto` or `--s3 s3s-fs` it also starts that S3 server on loopback (moto's
`moto_server`, or `s3s-fs` from `cargo install s3s-fs --features binary`) and measures
`drkit backup create` and `drkit restore` into a bucket of it beside the same into a local
path, alternating, and prints the ratio. The server shares this machine's cores with drkit:
its CPU time per backup is printed too, since on a small machine it sets the limit.

    cargo build --release && python3 benches/backup_vs_tar.py --size-mb 500 --pairs 3
    python3 benches/backup_vs_tar.py --size-mb 2000 --pairs 3 --threads 2 --s3 s3s-fs
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time
import urllib.request

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


class S3Server:
    """A local S3 server for the S3 rows, with one bucket, stopped by `stop`."""

    KEY, SECRET = "bench", "benchsecret"

    def __init__(self, kind, root):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.bucket = "drkit-bench"
        if kind == "moto":
            cmd = ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)]
        else:
            store = f"{root}/s3s-root"
            os.makedirs(f"{store}/{self.bucket}", exist_ok=True)
            cmd = ["s3s-fs", "--host", "127.0.0.1", "--port", str(self.port),
                   "--access-key", self.KEY, "--secret-key", self.SECRET, store]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        if kind == "moto":
            urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/{self.bucket}",
                                                          method="PUT"))
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=self.KEY, AWS_SECRET_ACCESS_KEY=self.SECRET)

    def repo_args(self, name):
        return ["--repo", f"s3://{self.bucket}/{name}", "--s3-endpoint", self.endpoint,
                "--s3-path-style"]

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def s3_pair(data, root, threads, server, run, s3_first):
    """drkit into a local path and into the bucket, each a new repository; then restores."""
    local = f"{root}/repo-local"
    shutil.rmtree(local, ignore_errors=True)
    remote = server.repo_args(f"run{run}")
    common = ["--quiet", "--threads", str(threads)]
    backup = {
        "local": lambda: timed([DRKIT, "backup", "create", *common, "--repo", local, "--data", data]),
        "s3": lambda: timed_env([DRKIT, "backup", "create", *common, *remote, "--data", data], server.env),
    }
    restore = {}
    for kind, args in (("local", ["--repo", local]), ("s3", remote)):
        target = f"{root}/restored-{kind}"
        restore[kind] = (lambda args=args, target=target: (
            shutil.rmtree(target, ignore_errors=True),
            timed_env([DRKIT, "restore", *common, *args, "--target", target], server.env))[1])
    order = ["s3", "local"] if s3_first else ["local", "s3"]
    out = {}
    for kind in order:
        cpu = server.cpu_seconds()
        out[f"backup_{kind}"] = backup[kind]()
        out[f"server_cpu_{kind}"] = server.cpu_seconds() - cpu
    for kind in order:
        out[f"restore_{kind}"] = restore[kind]()
    shutil.rmtree(local, ignore_errors=True)
    return out


def timed_env(cmd, env):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=500, help="SST MB of each data dir")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dir", default=None, help="work dir (default: a temporary one)")
    ap.add_argument("--drkit", default=None, help="the drkit binary (default: target/release)")
    ap.add_argument("--s3", choices=["moto", "s3s-fs"], default=None,
                    help="also measure an S3 repository on this local server beside a local path")
    ap.add_argument("--shapes", default="exchange,random", help="data shapes to measure")
    a = ap.parse_args()
    global DRKIT
    DRKIT = a.drkit or DRKIT
    root = a.dir or tempfile.mkdtemp(prefix="drkit-vs-tar-")
    os.makedirs(root, exist_ok=True)
    print(f"disk: dd bs=1M count=1024 conv=fdatasync: {dd_mb_per_s(root):.0f} MB/s")
    rows = []
    server = S3Server(a.s3, root) if a.s3 else None
    shapes = [s for s in (("exchange", 0), ("random 200 B values", 200))
              if s[0].split()[0] in a.shapes.split(",")]
    for shape, value_size in shapes:
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
            if server:
                pairs = [s3_pair(data, root, threads, server, f"{value_size}-{threads}-{i}", i % 2 == 1)
                         for i in range(a.pairs)]
                ratio = lambda op: med([p[f"{op}_local"] / p[f"{op}_s3"] for p in pairs])
                mbs = lambda op, kind: size / 1e6 / med([p[f"{op}_{kind}"] for p in pairs])
                x["s3"] = dict(server=a.s3, pairs=pairs, backup_ratio=ratio("backup"),
                               restore_ratio=ratio("restore"))
                print(f"{'':22} S3 ({a.s3}): backup {mbs('backup', 's3'):.0f} MB/s vs local path "
                      f"{mbs('backup', 'local'):.0f} MB/s = {ratio('backup'):.2f}x | restore "
                      f"{mbs('restore', 's3'):.0f} vs {mbs('restore', 'local'):.0f} MB/s = "
                      f"{ratio('restore'):.2f}x | server CPU per S3 backup "
                      f"{med([p['server_cpu_s3'] for p in pairs]):.1f} s", flush=True)
    if server:
        server.stop()
    json.dump(rows, sys.stderr, indent=1)
    if not a.dir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
