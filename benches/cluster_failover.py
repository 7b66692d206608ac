#!/usr/bin/env python3
"""Failover time of a 3-node `drkit serve --node-id` cluster on loopback.

Each round: find the leader, SIGKILL it, then time (a) until a survivor reports a new leader
(`drkit cluster status --json`, polled every 20 ms) and (b) until the first SET is
acknowledged by the new leader (a client retrying every 20 ms, following MOVED). The old
leader is restarted between rounds. Default timing (heartbeat 500 ms, election 1.5-2 s)
unless --timing fast.

    cargo build --release && python3 benches/cluster_failover.py --rounds 5
"""
import argparse, json, os, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRKIT = os.path.join(ROOT, "target", "release", "drkit")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def resp(port, *words, timeout=1.0):
    """One RESP command; returns the reply line (simple string or error) or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            out = b"*%d\r\n" % len(words)
            for w in words:
                w = w.encode()
                out += b"$%d\r\n%s\r\n" % (len(w), w)
            s.sendall(out)
            return s.recv(4096).decode(errors="replace").strip()
    except OSError:
        return None


class Node:
    def __init__(self, nid, root, secret, timing):
        self.id, self.secret, self.timing = nid, secret, timing
        self.dir = os.path.join(root, f"n{nid}")
        self.client, self.raft = free_port(), free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [DRKIT, "serve", "--json", "--data", self.dir, "--listen", f"127.0.0.1:{self.client}",
             "--node-id", str(self.id), "--raft-listen", f"127.0.0.1:{self.raft}",
             "--cluster-secret-file", self.secret, "--timing", self.timing],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        assert b"listening" in line, line

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def status(node):
    r = subprocess.run([DRKIT, "cluster", "status", "--json", "--timeout", "1s", "--addr",
                        f"127.0.0.1:{node.raft}", "--cluster-secret-file", node.secret],
                       capture_output=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def leader_of(node, exclude=None):
    st = status(node)
    if not st:
        return None
    me = next((n for n in st["nodes"] if n["node_id"] == node.id), None)
    if me and "status" in me and me["status"]["role"] == "leader" and node.id != exclude:
        return node.id
    lid = me["status"]["leader"] if me and "status" in me else None
    return lid if lid != exclude else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timing", default="default")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="drkit-failover-")
    secret = os.path.join(root, "secret")
    with open(secret, "w") as f:
        f.write("bench secret\n")
    nodes = [Node(i, root, secret, a.timing) for i in (1, 2, 3)]
    for n in nodes:
        n.start()
    members = ",".join(f"{n.id}=127.0.0.1:{n.raft}" for n in nodes)
    subprocess.run([DRKIT, "cluster", "init", "--addr", f"127.0.0.1:{nodes[0].raft}",
                    "--members", members, "--cluster-secret-file", secret], check=True,
                   capture_output=True)
    elected, first_write = [], []
    try:
        for r in range(a.rounds):
            lid = None
            while lid is None:
                lid = leader_of(nodes[0]) or leader_of(nodes[1]) or leader_of(nodes[2])
                time.sleep(0.05)
            leader = nodes[lid - 1]
            while resp(leader.client, "SET", f"warm{r}", "x") != "+OK":
                time.sleep(0.02)
            survivors = [n for n in nodes if n.id != lid]
            t0 = time.monotonic()
            leader.kill9()
            t_elected = t_write = None
            while t_elected is None or t_write is None:
                now = time.monotonic()
                if now - t0 > 60:
                    sys.exit("no failover within 60 s")
                if t_elected is None:
                    for n in survivors:
                        new = leader_of(n, exclude=lid)
                        if new:
                            t_elected = time.monotonic() - t0
                            break
                if t_write is None:
                    for n in survivors:
                        if resp(n.client, "SET", f"after{r}", "y", timeout=0.5) == "+OK":
                            t_write = time.monotonic() - t0
                            break
                time.sleep(0.02)
            elected.append(t_elected)
            first_write.append(t_write)
            print(f"round {r + 1}: new leader after {t_elected:.2f} s, first acknowledged write after {t_write:.2f} s")
            leader.start()
            time.sleep(1.0)
    finally:
        for n in nodes:
            if n.proc and n.proc.poll() is None:
                n.kill9()
    print(f"median over {a.rounds}: new leader {statistics.median(elected):.2f} s "
          f"(max {max(elected):.2f}), first write {statistics.median(first_write):.2f} s "
          f"(max {max(first_write):.2f}); timing {a.timing}")


if __name__ == "__main__":
    main()
