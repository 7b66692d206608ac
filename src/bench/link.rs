//! A network link between two nodes that `bench cluster --nemesis` can cut: a TCP forwarder
//! on loopback, which one node dials (through `--raft-route`) to reach another.
//!
//! Cut, it is a partition as a switch makes one: connections stay open and whatever is sent
//! is lost, so the sender finds out only by its own timeouts. Healed, the connections that
//! lost bytes are closed (their frames are broken) and new ones go through.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{IoContext, Result};

#[derive(Debug, Default)]
struct State {
    cut: AtomicBool,
    stop: AtomicBool,
    /// Both ends of every open connection by its number, to close them on heal and at the
    /// end. (openraft 0.9 opens a connection per peer for every linearizable read, so a
    /// link carries many short ones: each is forgotten when it closes.)
    streams: Mutex<BTreeMap<u64, [TcpStream; 2]>>,
    next: AtomicU64,
}

impl State {
    fn streams(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, [TcpStream; 2]>> {
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn close(&self, conn: u64) {
        if let Some(ends) = self.streams().remove(&conn) {
            for s in ends {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    fn close_all(&self) {
        for ends in std::mem::take(&mut *self.streams()).into_values() {
            for s in ends {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// One direction of the way to a node: connections made to [`Link::addr`] reach `to`.
#[derive(Debug)]
pub struct Link {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Link {
    pub fn start(to: SocketAddr) -> Result<Link> {
        let here = Path::new("127.0.0.1:0");
        let listener = TcpListener::bind("127.0.0.1:0").at(here)?;
        let addr = listener.local_addr().at(here)?;
        listener.set_nonblocking(true).at(here)?;
        let state = Arc::new(State::default());
        let s = Arc::clone(&state);
        std::thread::Builder::new()
            .name("drkit-link".into())
            .spawn(move || accept_loop(&listener, to, &s))
            .at(here)?;
        Ok(Link { addr, state })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on nothing passes, in either direction.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
    }

    /// Traffic passes again on new connections.
    pub fn heal(&self) {
        if self.state.cut.swap(false, Ordering::SeqCst) {
            self.state.close_all();
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.state.close_all();
    }
}

fn accept_loop(listener: &TcpListener, to: SocketAddr, state: &Arc<State>) {
    while !state.stop.load(Ordering::SeqCst) {
        let inbound = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => continue,
        };
        let _ = inbound.set_nonblocking(false);
        let Ok(outbound) = TcpStream::connect_timeout(&to, Duration::from_secs(1)) else {
            continue;
        };
        for s in [&inbound, &outbound] {
            let _ = s.set_nodelay(true);
        }
        let (Ok(in2), Ok(out2), Ok(in3), Ok(out3)) = (
            inbound.try_clone(),
            outbound.try_clone(),
            inbound.try_clone(),
            outbound.try_clone(),
        ) else {
            continue;
        };
        let conn = state.next.fetch_add(1, Ordering::Relaxed);
        state.streams().insert(conn, [in3, out3]);
        for (from, into) in [(inbound, outbound), (out2, in2)] {
            let s = Arc::clone(state);
            let _ = std::thread::Builder::new()
                .name("drkit-link-pump".into())
                .spawn(move || {
                    pump(from, into, &s);
                    s.close(conn);
                });
        }
    }
}

/// Copies `from` into `into` while the link is whole and drops what arrives while it is
/// cut, until the first error or end of stream.
fn pump(mut from: TcpStream, mut into: TcpStream, state: &State) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if state.cut.load(Ordering::SeqCst) {
            continue;
        }
        if into.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let mut w = s;
                    let _ = std::io::copy(&mut r, &mut w);
                });
            }
        });
        addr
    }

    fn round_trip(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_millis(300)))?;
        s.write_all(b"ping")?;
        let mut got = [0u8; 4];
        s.read_exact(&mut got)?;
        Ok(got.to_vec())
    }

    #[test]
    fn a_cut_link_loses_everything_and_a_healed_one_carries_again() {
        let link = Link::start(echo_server()).unwrap();
        assert_eq!(round_trip(link.addr()).unwrap(), b"ping");

        let mut open = TcpStream::connect(link.addr()).unwrap();
        open.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        link.cut();
        // The connection stays up, but nothing comes back: a partition, not a reset.
        open.write_all(b"lost").unwrap();
        let mut got = [0u8; 4];
        assert!(open.read_exact(&mut got).is_err());
        assert!(
            round_trip(link.addr()).is_err(),
            "new connections are cut too"
        );

        link.heal();
        assert_eq!(round_trip(link.addr()).unwrap(), b"ping");
        // The old connection lost bytes: it is closed rather than left to carry broken frames.
        assert!(matches!(open.read(&mut got), Ok(0) | Err(_)));
    }
}
