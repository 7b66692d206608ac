//! A TCP proxy on one directed peer link (node A dialing node B), which the nemesis turns
//! from passing bytes to delaying, blackholing or dropping them.
//!
//! Raft RPCs travel on the connection their sender opened and the reply comes back on it,
//! so the link A→B carries A's requests to B and B's answers; B's requests to A go through
//! the link B→A. Faulting one link and not its reverse cuts one direction of the traffic.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass,
    /// Every chunk waits this long before it is passed on: a slow network or a slow node.
    Delay(Duration),
    /// Connections stay open and writes succeed, but nothing arrives: a partition as TCP
    /// sees one, noticed only by timeouts.
    Blackhole,
    /// Open connections are reset and new ones closed at once: a crashed host or a firewall
    /// that rejects.
    Drop,
}

#[derive(Debug)]
struct State {
    mode: Mutex<Mode>,
    /// Both ends of every open connection by its number, so a fault can cut them.
    open: Mutex<HashMap<u64, Vec<TcpStream>>>,
    next: std::sync::atomic::AtomicU64,
}

impl State {
    fn register(&self, streams: &[&TcpStream]) -> Option<u64> {
        let clones = streams
            .iter()
            .map(|s| s.try_clone())
            .collect::<std::io::Result<Vec<_>>>()
            .ok()?;
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.open.lock().unwrap().insert(id, clones);
        Some(id)
    }

    fn forget(&self, id: u64) {
        self.open.lock().unwrap().remove(&id);
    }
}

#[derive(Debug, Clone)]
pub struct Link {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Link {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            mode: Mutex::new(Mode::Pass),
            open: Mutex::new(HashMap::new()),
            next: std::sync::atomic::AtomicU64::new(0),
        });
        let s = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                accept(&s, conn, upstream);
            }
        });
        Link { addr, state }
    }

    /// Changes the mode. Leaving a blackhole cuts the connections it swallowed bytes of (TCP
    /// would have timed them out), so no stream resumes with a hole in it.
    pub fn set(&self, mode: Mode) {
        let was = std::mem::replace(&mut *self.state.mode.lock().unwrap(), mode);
        if mode == Mode::Drop || (was == Mode::Blackhole && mode != Mode::Blackhole) {
            for c in self.state.open.lock().unwrap().drain().flat_map(|(_, c)| c) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }
}

fn accept(state: &Arc<State>, client: TcpStream, upstream: SocketAddr) {
    let mode = *state.mode.lock().unwrap();
    if mode == Mode::Drop {
        return;
    }
    let _ = client.set_nodelay(true);
    if mode == Mode::Blackhole {
        // The connection opens (the proxy accepts it) but leads nowhere; reads swallow it.
        let Some(id) = state.register(&[&client]) else {
            return;
        };
        let s = Arc::clone(state);
        std::thread::spawn(move || {
            swallow(client);
            s.forget(id);
        });
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = server.set_nodelay(true);
    let Some(id) = state.register(&[&client, &server]) else {
        return;
    };
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        state.forget(id);
        return;
    };
    let s = Arc::clone(state);
    std::thread::spawn(move || pump(&s, client, server2));
    let s = Arc::clone(state);
    std::thread::spawn(move || {
        pump(&s, server, client2);
        s.forget(id);
    });
}

fn swallow(mut from: TcpStream) {
    let mut buf = [0u8; 64 * 1024];
    while matches!(from.read(&mut buf), Ok(n) if n > 0) {}
}

/// Copies `from` to `to` chunk by chunk, each as the link's mode says at that moment.
fn pump(state: &State, mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mode = *state.mode.lock().unwrap();
        match mode {
            Mode::Pass => {}
            Mode::Delay(d) => std::thread::sleep(d),
            Mode::Blackhole => continue,
            Mode::Drop => break,
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    // Closing both ways ends the other pump too, so a half-dead connection does not linger.
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

#[test]
fn a_link_passes_delays_blackholes_and_drops() {
    let echo = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in echo.incoming() {
            let mut c = c.unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 || c.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let link = Link::start(upstream);
    let ask = |c: &mut TcpStream| -> bool {
        if c.write_all(b"ping").is_err() {
            return false;
        }
        let mut got = [0u8; 4];
        c.read_exact(&mut got).is_ok() && &got == b"ping"
    };
    let open = || {
        let c = TcpStream::connect(link.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        c
    };
    let mut c = open();
    assert!(ask(&mut c), "pass");

    link.set(Mode::Delay(Duration::from_millis(100)));
    let t = std::time::Instant::now();
    assert!(ask(&mut c), "delay still delivers");
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "both ways delayed"
    );

    link.set(Mode::Blackhole);
    assert!(!ask(&mut c), "a blackhole answers nothing");
    assert!(!ask(&mut open()), "nor on a new connection");

    link.set(Mode::Drop);
    let mut dropped = open();
    assert!(!ask(&mut dropped), "a dropped link closes connections");

    link.set(Mode::Pass);
    assert!(ask(&mut open()), "healed");
}
