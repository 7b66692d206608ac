//! What answered at an address given as a node's Raft port, when it is not one: a drkit node
//! speaks first (its handshake challenge), so silence or text means something else listens
//! there. Operators mix up a node's client and Raft ports easily; the error names what is
//! there and, for a drkit client port, the Raft port to use instead.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a TCP connect may take before the address is reported unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a drkit node may take to send its challenge after accepting.
pub const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a silent server may take to answer a Redis-protocol INFO.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The first bytes a drkit node sent do not start a frame: `head` is printable text from
/// another protocol (HTTP, SSH, a Redis reply, ...).
pub fn looks_like_text(head: &[u8]) -> bool {
    head.iter()
        .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n'))
}

/// What a server that said nothing first is, from its answer to a Redis-protocol
/// `INFO replication` (drkit's client port and Redis answer it; anything else is not a node).
pub async fn silent_server(stream: &mut TcpStream) -> String {
    let info = b"*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n";
    if stream.write_all(info).await.is_err() {
        return "accepted the connection, said nothing and closed it: not a drkit Raft port".into();
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PROBE_TIMEOUT;
    while reply.len() < 64 * 1024 {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => reply.extend_from_slice(&buf[..n]),
            _ => break,
        }
        if reply.starts_with(b"-") && reply.contains(&b'\n') {
            break;
        }
    }
    describe_reply(&String::from_utf8_lossy(&reply))
}

/// Names the server from its reply to `INFO replication`.
pub fn describe_reply(reply: &str) -> String {
    let field = |name: &str| {
        reply
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    if let Some(id) = field("cluster_node_id") {
        let raft = field("cluster_raft_addr")
            .map(|a| format!("; its Raft port is {a}: give that address"))
            .unwrap_or_else(|| "; give its --raft-listen address".into());
        return format!("this is the client port of drkit node {id}, not its Raft port{raft}");
    }
    if reply.starts_with('$') {
        return "this is a Redis-protocol server (a standalone `drkit serve` or Redis), not a drkit node's Raft port".into();
    }
    if let Some(err) = reply.strip_prefix('-') {
        let first = err.lines().next().unwrap_or_default();
        return format!(
            "this speaks the Redis protocol (it answered `-{first}`): a client port of drkit or Redis, not a drkit node's Raft port; give the node's --raft-listen address"
        );
    }
    if reply.is_empty() {
        return format!(
            "accepted the connection but sent nothing within {:?} (a drkit node sends its challenge at once): not a drkit Raft port, or a node too busy to answer",
            CHALLENGE_TIMEOUT
        );
    }
    format!(
        "not a drkit node: it answered `{}`",
        first_line(reply.as_bytes())
    )
}

/// The first line of what a server sent, shortened, for an error message.
pub fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_named() {
        let node = "$120\r\n# Replication\r\nrole:slave\r\ncluster_node_id:2\r\ncluster_raft_addr:127.0.0.1:7002\r\n";
        let text = describe_reply(node);
        assert!(text.contains("client port of drkit node 2"), "{text}");
        assert!(text.contains("127.0.0.1:7002"), "{text}");
        assert!(
            describe_reply("$40\r\n# Replication\r\nrole:master\r\n")
                .contains("Redis-protocol server")
        );
        assert!(describe_reply("-NOAUTH Authentication required.\r\n").contains("`-NOAUTH"));
        assert!(describe_reply("").contains("sent nothing"));
        assert!(describe_reply("HTTP/1.1 400 Bad Request\r\n").contains("`HTTP/1.1 400"));
        assert!(looks_like_text(b"HTTP"));
        assert!(!looks_like_text(&[9, 0, 0, 0]));
    }
}
