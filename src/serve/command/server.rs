//! Connection and server commands: AUTH, HELLO, ROLE, CONFIG GET.

use super::*;
use crate::serve::pattern::glob_match;

/// ROLE: `master` with its replicas' (host, port, matched index), or in cluster mode on a
/// follower `slave` with the leader's client address and this node's applied index.
pub(super) fn role(shared: &Shared) -> Reply {
    let Some(c) = &shared.cluster else {
        return Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Int(shared.engine.last_seq() as i64),
            Reply::Array(Vec::new()),
        ]);
    };
    let st = c.status();
    if st.role == "leader" {
        let replicas = st
            .replication
            .iter()
            .map(|r| {
                let addr = st
                    .nodes
                    .get(&r.node_id)
                    .map(|n| n.client_addr.clone())
                    .unwrap_or_default();
                let (host, port) = addr.rsplit_once(':').unwrap_or((addr.as_str(), ""));
                Reply::Array(vec![
                    Reply::bulk(host.to_string()),
                    Reply::bulk(port.to_string()),
                    Reply::bulk(r.matched.unwrap_or(0).to_string()),
                ])
            })
            .collect();
        return Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Int(st.last_log_index.unwrap_or(0) as i64),
            Reply::Array(replicas),
        ]);
    }
    let leader = st
        .leader
        .and_then(|l| st.nodes.get(&l))
        .map(|n| n.client_addr.clone())
        .unwrap_or_default();
    let (host, port) = leader.rsplit_once(':').unwrap_or(("", "0"));
    Reply::Array(vec![
        Reply::bulk("slave"),
        Reply::bulk(host.to_string()),
        Reply::Int(port.parse().unwrap_or(0)),
        Reply::bulk(if st.leader.is_some() {
            "connected"
        } else {
            "connect"
        }),
        Reply::Int(st.last_applied_index.unwrap_or(0) as i64),
    ])
}

pub(super) fn auth(shared: &Shared, session: &mut Session, attempt: &[u8]) -> Reply {
    match &shared.password {
        None => Reply::err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ),
        Some(p) if p.matches(attempt) => {
            session.authed = true;
            Reply::ok()
        }
        Some(_) => Reply::err("WRONGPASS invalid username-password pair or user is disabled."),
    }
}

/// HELLO [protover [AUTH username password] [SETNAME name]]: RESP2 only.
pub(super) fn hello(shared: &Shared, session: &mut Session, args: &Args) -> Reply {
    if let Some(v) = args.get(1)
        && v.as_slice() != b"2"
    {
        return Reply::err(
            "NOPROTO sorry, this protocol version is not supported (drkit speaks RESP2)",
        );
    }
    let mut i = 2;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_slice() {
            b"auth" if i + 2 < args.len() => {
                if args[i + 1] != b"default" {
                    return Reply::err(
                        "WRONGPASS invalid username-password pair or user is disabled.",
                    );
                }
                let r = auth(shared, session, &args[i + 2]);
                if r.is_error() {
                    return r;
                }
                i += 3;
            }
            b"setname" if i + 1 < args.len() => i += 2,
            _ => return syntax_error(),
        }
    }
    if !session.authed {
        return Reply::err(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    Reply::Array(vec![
        Reply::bulk("server"),
        Reply::bulk("drkit"),
        Reply::bulk("version"),
        Reply::bulk(env!("CARGO_PKG_VERSION")),
        Reply::bulk("proto"),
        Reply::Int(2),
        Reply::bulk("id"),
        Reply::Int(session.id as i64),
        Reply::bulk("mode"),
        Reply::bulk("standalone"),
        Reply::bulk("role"),
        Reply::bulk("master"),
        Reply::bulk("modules"),
        Reply::Array(Vec::new()),
    ])
}

/// CONFIG GET pattern: the few settings clients and redis-benchmark ask about.
pub(super) fn config_get(shared: &Shared, pattern: &[u8]) -> Reply {
    let cfg = &shared.cfg;
    let appendfsync = match shared.engine.options().sync {
        crate::engine::SyncPolicy::Always => "always",
        crate::engine::SyncPolicy::Interval(_) => "everysec",
        crate::engine::SyncPolicy::Never => "no",
    };
    let settings = [
        ("maxclients", cfg.max_clients.to_string()),
        (
            "timeout",
            cfg.idle_timeout.map_or(0, |d| d.as_secs()).to_string(),
        ),
        ("proto-max-bulk-len", cfg.max_bulk_len.to_string()),
        // The WAL is the append-only file: every write is logged before it is acknowledged.
        ("appendonly", "yes".into()),
        ("appendfsync", appendfsync.into()),
        ("save", String::new()),
        ("databases", "1".into()),
        (
            "protected-mode",
            if cfg.protected_mode { "yes" } else { "no" }.into(),
        ),
    ];
    let lower = pattern.to_ascii_lowercase();
    Reply::Array(
        settings
            .into_iter()
            .filter(|(k, _)| glob_match(&lower, k.as_bytes()))
            .flat_map(|(k, v)| [Reply::bulk(k), Reply::bulk(v)])
            .collect(),
    )
}
