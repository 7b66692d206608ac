#!/usr/bin/env python3
"""Replication lag of a 3-node `drkit serve --node-id` cluster on loopback.

A writer sends SETs to the leader at a target rate (pipelined in groups of 10). The moment
each group is acknowledged, a reader on a follower (READONLY) polls for its last key, and
the lag is the time from the leader's acknowledgement until the follower serves that key.
Prints p50/p99 per rate.

    cargo build --release && python3 benches/cluster_lag.py --rates 1000,10000 --seconds 5
"""
import argparse, os, socket, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_failover import DRKIT, Node, leader_of  # noqa: E402


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, *cmds):
        out = b""
        for words in cmds:
            out += b"*%d\r\n" % len(words)
            for w in words:
                w = w.encode()
                out += b"$%d\r\n%s\r\n" % (len(w), w)
        self.s.sendall(out)

    def reply(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        if line.startswith(b"$") and line != b"$-1":
            n = int(line[1:])
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            val, self.buf = self.buf[:n], self.buf[n + 2:]
            return val
        return line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="1000,10000")
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="drkit-lag-")
    secret = os.path.join(root, "secret")
    with open(secret, "w") as f:
        f.write("bench secret\n")
    nodes = [Node(i, root, secret, "default") for i in (1, 2, 3)]
    for n in nodes:
        n.start()
    members = ",".join(f"{n.id}=127.0.0.1:{n.raft}" for n in nodes)
    subprocess.run([DRKIT, "cluster", "init", "--addr", f"127.0.0.1:{nodes[0].raft}",
                    "--members", members, "--cluster-secret-file", secret], check=True,
                   capture_output=True)
    try:
        lid = None
        while lid is None:
            lid = leader_of(nodes[0])
            time.sleep(0.1)
        leader = nodes[lid - 1]
        follower = next(n for n in nodes if n.id != lid)
        w, r = Conn(leader.client), Conn(follower.client)
        r.send(("READONLY",))
        r.reply()
        for rate in [int(x) for x in a.rates.split(",")]:
            lags, sent, i = [], 0, 0
            start = time.monotonic()
            while time.monotonic() - start < a.seconds:
                group = [("SET", f"r{rate}-{i + j}", "v" * 16) for j in range(10)]
                i += 10
                w.send(*group)
                for _ in group:
                    assert w.reply() == b"+OK"
                acked = time.monotonic()
                sent += len(group)
                key = group[-1][1]
                while True:
                    r.send(("GET", key))
                    if r.reply() != b"$-1":
                        break
                lags.append((time.monotonic() - acked) * 1000)
                # Pace to the target rate.
                behind = start + sent / rate - time.monotonic()
                if behind > 0:
                    time.sleep(behind)
            elapsed = time.monotonic() - start
            lags.sort()
            p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
            print(f"target {rate}/s: achieved {sent / elapsed:.0f} writes/s, lag p50 {p(0.5):.2f} ms, "
                  f"p99 {p(0.99):.2f} ms, max {lags[-1]:.2f} ms ({len(lags)} samples)")
    finally:
        for n in nodes:
            if n.proc and n.proc.poll() is None:
                n.kill9()


if __name__ == "__main__":
    main()
