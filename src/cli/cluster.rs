//! `drkit cluster init|status|add-learner|promote|remove`: admin requests to a node's
//! `--raft-listen` address, authenticated with the cluster secret; `force-new` works on a
//! stopped node's dir (force_new.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::network::{Connection, Identity};
use crate::cluster::wire::{PeerReply, PeerRequest};
use crate::cluster::{ClusterNode, NodeId, NodeStatus};
use crate::error::{Error, Exit};
use crate::output::{Printer, table};

use super::backup::parse_duration;
use super::serve::read_secret_file;

#[derive(Debug, clap::Args)]
pub struct Common {
    /// A node's --raft-listen address.
    #[arg(long)]
    pub addr: String,
    /// The cluster secret (first line of the file), as the nodes were given it.
    #[arg(long, value_name = "PATH")]
    pub cluster_secret_file: PathBuf,
    /// Give up after this long (adding a learner waits for it to catch up).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make the given nodes the voters of a new cluster (run once, on any of them).
    Init {
        #[command(flatten)]
        common: Common,
        /// The voters: ID=RAFT_ADDR,... (each node must be running with that --node-id).
        #[arg(long, value_delimiter = ',', required = true)]
        members: Vec<String>,
    },
    /// Every node's role, term, leader, log and replication progress, as one node sees it.
    Status {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Add a running node as a learner (an asynchronous read replica); waits until it has
    /// caught up.
    AddLearner {
        #[command(flatten)]
        common: Common,
        /// The learner's --node-id.
        #[arg(long)]
        id: NodeId,
        /// The learner's --raft-listen address.
        #[arg(long)]
        node_addr: String,
    },
    /// Make a learner a voter.
    Promote {
        #[command(flatten)]
        common: Common,
        /// The learner's --node-id.
        #[arg(long)]
        id: NodeId,
    },
    /// After a lost quorum: make a stopped survivor's committed state a one-voter cluster
    /// under a new cluster id (uncommitted entries go to DIR/lost/).
    ForceNew(super::force_new::Args),
    /// Remove a node from the voters (and the cluster).
    Remove {
        #[command(flatten)]
        common: Common,
        /// The voter's --node-id.
        #[arg(long)]
        id: NodeId,
    },
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Status { json, .. } => *json,
            Command::ForceNew(a) => a.json,
            _ => false,
        }
    }
}

struct Admin {
    identity: Identity,
    timeout: Duration,
    rt: tokio::runtime::Runtime,
}

impl Admin {
    fn new(common: &Common) -> anyhow::Result<Admin> {
        Ok(Admin {
            identity: Identity {
                node_id: 0,
                cluster_id: std::sync::Mutex::new([0; 16]),
                secret: read_secret_file(&common.cluster_secret_file, "cluster secret")?,
            },
            timeout: common.timeout,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        })
    }

    fn call(&self, addr: &str, req: PeerRequest) -> anyhow::Result<PeerReply> {
        self.rt.block_on(async {
            let connect = Connection::open(addr, &self.identity);
            let mut c = tokio::time::timeout(self.timeout, connect)
                .await
                .map_err(|_| anyhow::anyhow!("{addr}: no answer within {:?}", self.timeout))??;
            Ok(c.call(&req, self.timeout).await?)
        })
    }

    fn status(&self, addr: &str) -> anyhow::Result<NodeStatus> {
        match self.call(addr, PeerRequest::Status)? {
            PeerReply::Status(s) => Ok(*s),
            other => Err(refusal(addr, other)),
        }
    }

    /// Sends a membership change to the leader, following one redirect.
    fn to_leader(&self, addr: &str, req: impl Fn() -> PeerRequest) -> anyhow::Result<()> {
        let mut target = addr.to_string();
        for _ in 0..2 {
            match self.call(&target, req())? {
                PeerReply::Done => return Ok(()),
                PeerReply::Error {
                    leader: Some(l), ..
                } if l.raft_addr != target => target = l.raft_addr,
                other => return Err(refusal(&target, other)),
            }
        }
        anyhow::bail!("{addr}: the leader moved twice; try again")
    }
}

/// Adds node `id` (reachable at `node_addr`) as a learner through the member at `addr`,
/// waiting until it has caught up.
pub fn add_learner(
    addr: &str,
    secret_file: &std::path::Path,
    id: NodeId,
    node_addr: &str,
) -> anyhow::Result<()> {
    let common = Common {
        addr: addr.to_string(),
        cluster_secret_file: secret_file.to_path_buf(),
        timeout: Duration::from_secs(600),
    };
    let admin = Admin::new(&common)?;
    let st = admin.status(node_addr)?;
    if st.node_id != id {
        return Err(Error::InvalidInput(format!(
            "{node_addr} runs as node {}, not node {id}",
            st.node_id
        ))
        .into());
    }
    // A node initialised in a cluster that does not list it belongs to another cluster: it
    // would refuse this one's connections for ever.
    if !st.voters.is_empty() {
        let ours = admin.status(addr)?;
        if ours.nodes.get(&id).is_none_or(|n| n.raft_addr != node_addr) {
            return Err(Error::InvalidInput(format!(
                "{node_addr} (node {id}) belongs to another cluster (voters {}); to add it here, stop it, wipe its dir and start it empty",
                st.voters
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    }
    let node = ClusterNode {
        raft_addr: node_addr.to_string(),
        client_addr: st.client_addr.unwrap_or_default(),
    };
    admin.to_leader(addr, || PeerRequest::AddLearner(id, node.clone()))
}

/// That `addr` is a running node of a cluster, reachable with the secret: what
/// `replicate --join` checks before it starts.
pub fn check_join(addr: &str, secret_file: &std::path::Path) -> anyhow::Result<()> {
    let common = Common {
        addr: addr.to_string(),
        cluster_secret_file: secret_file.to_path_buf(),
        timeout: Duration::from_secs(10),
    };
    let st = Admin::new(&common)?
        .status(addr)
        .map_err(|e| anyhow::anyhow!("cannot join through {addr}: {e:#}"))?;
    if st.voters.is_empty() {
        return Err(Error::InvalidInput(format!(
            "cannot join through {addr}: node {} there is not initialised yet; run `drkit cluster init` first",
            st.node_id
        ))
        .into());
    }
    Ok(())
}

fn refusal(addr: &str, reply: PeerReply) -> anyhow::Error {
    match reply {
        PeerReply::Error { reason, .. } => Error::InvalidInput(format!("{addr}: {reason}")).into(),
        other => anyhow::anyhow!("{addr}: unexpected reply {other:?}"),
    }
}

fn parse_members(members: &[String]) -> anyhow::Result<BTreeMap<NodeId, String>> {
    let mut out = BTreeMap::new();
    for m in members {
        let (id, addr) = m
            .split_once('=')
            .ok_or_else(|| Error::InvalidInput(format!("member {m:?}: write ID=RAFT_ADDR")))?;
        let id: NodeId = id.parse().ok().filter(|i| *i > 0).ok_or_else(|| {
            Error::InvalidInput(format!(
                "member {m:?}: the id must be a number of 1 or more"
            ))
        })?;
        if out.insert(id, addr.to_string()).is_some() {
            return Err(Error::InvalidInput(format!("node id {id} is given twice")).into());
        }
    }
    Ok(out)
}

pub fn run(printer: &Printer, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Init { common, members } => init(printer, &common, &members),
        Command::Status { common, json } => {
            let admin = Admin::new(&common)?;
            let me = admin.status(&common.addr)?;
            // Ask every member for its own view; a node that does not answer is shown so.
            let mut rows = Vec::new();
            for (id, node) in &me.nodes {
                let view = if *id == me.node_id {
                    Ok(me.clone())
                } else {
                    admin.status(&node.raft_addr).map_err(|e| e.to_string())
                };
                rows.push((*id, node.clone(), view));
            }
            if json {
                let nodes: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(id, node, view)| match view {
                        Ok(s) => serde_json::json!({ "node_id": id, "raft_addr": node.raft_addr, "client_addr": node.client_addr, "status": s }),
                        Err(e) => serde_json::json!({ "node_id": id, "raft_addr": node.raft_addr, "client_addr": node.client_addr, "error": e }),
                    })
                    .collect();
                printer
                    .json(&serde_json::json!({ "schema": 1, "asked": me.node_id, "nodes": nodes }));
                return Ok(Exit::Ok);
            }
            let leader_view = rows
                .iter()
                .find_map(|(_, _, v)| v.as_ref().ok().filter(|s| s.role == "leader"))
                .cloned();
            let mut t = table(&[
                "node",
                "role",
                "term",
                "leader",
                "log / commit / applied",
                "lag",
                "last reply (rtt)",
                "quorum ack",
                "elections (won)",
                "leader changed",
                "client",
            ]);
            for (id, node, view) in &rows {
                let progress = leader_view
                    .as_ref()
                    .and_then(|l| l.replication.iter().find(|r| r.node_id == *id));
                let lag = progress.map_or("-".to_string(), |r| match r.lag_ms {
                    Some(ms) => format!("{} entries, {ms} ms", r.lag_entries),
                    None => format!("{} entries", r.lag_entries),
                });
                let last_reply = progress
                    .and_then(|r| r.last_reply_ms.map(|ms| (ms, r.rtt_us)))
                    .map_or("-".to_string(), |(ms, rtt)| match rtt {
                        Some(us) => format!("{ms} ms ago ({:.1} ms)", us as f64 / 1000.0),
                        None => format!("{ms} ms ago"),
                    });
                let opt = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
                match view {
                    Ok(s) => t.add_row(vec![
                        id.to_string(),
                        s.role.clone(),
                        s.term.to_string(),
                        opt(s.leader),
                        format!(
                            "{} / {} / {}",
                            opt(s.last_log_index),
                            opt(s.committed_index),
                            opt(s.last_applied_index)
                        ),
                        lag,
                        last_reply,
                        s.millis_since_quorum_ack
                            .map_or("-".into(), |m| format!("{m} ms")),
                        format!("{} ({})", s.elections_started, s.terms_led),
                        s.leader_changed_ms_ago
                            .map_or("-".into(), |ms| format!("{:.1} s ago", ms as f64 / 1000.0)),
                        node.client_addr.clone(),
                    ]),
                    Err(e) => t.add_row(vec![
                        id.to_string(),
                        format!("unreachable: {e}"),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        lag,
                        last_reply,
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        node.client_addr.clone(),
                    ]),
                };
            }
            printer.table(&t);
            Ok(Exit::Ok)
        }
        Command::AddLearner {
            common,
            id,
            node_addr,
        } => {
            add_learner(&common.addr, &common.cluster_secret_file, id, &node_addr)?;
            printer.line(format!("node {id} is a learner and has caught up"));
            Ok(Exit::Ok)
        }
        Command::Promote { common, id } => {
            let admin = Admin::new(&common)?;
            let st = admin.status(&common.addr)?;
            if !st.learners.contains(&id) {
                return Err(Error::InvalidInput(format!(
                    "node {id} is not a learner of this cluster"
                ))
                .into());
            }
            let mut voters: BTreeSet<NodeId> = st.voters.iter().copied().collect();
            voters.insert(id);
            admin.to_leader(&common.addr, || {
                PeerRequest::ChangeMembership(voters.clone())
            })?;
            printer.line(format!("node {id} is a voter"));
            Ok(Exit::Ok)
        }
        Command::ForceNew(args) => super::force_new::run(printer, &args),
        Command::Remove { common, id } => {
            let admin = Admin::new(&common)?;
            let st = admin.status(&common.addr)?;
            let mut voters: BTreeSet<NodeId> = st.voters.iter().copied().collect();
            if !voters.remove(&id) {
                return Err(Error::InvalidInput(format!(
                    "node {id} is not a voter of this cluster"
                ))
                .into());
            }
            if voters.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "node {id} is the last voter: a cluster needs one; add another voter first"
                ))
                .into());
            }
            admin.to_leader(&common.addr, || {
                PeerRequest::ChangeMembership(voters.clone())
            })?;
            printer.line(format!("node {id} is no longer a voter"));
            Ok(Exit::Ok)
        }
    }
}

/// `cluster init`: every member first (the id it runs with, and whether it is in a cluster
/// yet). All empty: they become the voters of a new cluster. One of them a one-voter cluster
/// of itself (a node started on standalone data) and the others empty: the others join it as
/// learners, receive its state by snapshot, and all become voters.
fn init(printer: &Printer, common: &Common, members: &[String]) -> anyhow::Result<Exit> {
    let admin = Admin::new(common)?;
    let members = parse_members(members)?;
    let mut nodes = BTreeMap::new();
    let mut holding = Vec::new();
    for (id, addr) in &members {
        let st = admin.status(addr)?;
        if st.node_id != *id {
            return Err(Error::InvalidInput(format!(
                "{addr} runs as node {}, not node {id}: the ids clash or the address is wrong",
                st.node_id
            ))
            .into());
        }
        if !st.voters.is_empty() {
            holding.push((*id, st.voters.clone()));
        }
        nodes.insert(
            *id,
            ClusterNode {
                raft_addr: addr.clone(),
                client_addr: st.client_addr.unwrap_or_default(),
            },
        );
    }
    let ids = |v: &[NodeId]| {
        v.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let data_node = match holding.as_slice() {
        [] => None,
        [(id, voters)] if voters == &[*id] && members.len() > 1 => Some(*id),
        [(id, _)] => {
            return Err(Error::InvalidInput(format!(
                "{} (node {id}) is already initialised: it is part of a cluster",
                members[id]
            ))
            .into());
        }
        more => {
            let held: Vec<NodeId> = more.iter().map(|(id, _)| *id).collect();
            return Err(Error::InvalidInput(format!(
                "nodes {} are already initialised (each holds data or belongs to a cluster): a new cluster starts from at most one node's data, the others empty; wipe the others' dirs or leave them out",
                ids(&held)
            ))
            .into());
        }
    };
    let all: Vec<NodeId> = members.keys().copied().collect();
    let Some(data_node) = data_node else {
        return match admin.call(&common.addr, PeerRequest::Init(nodes))? {
            PeerReply::Done => {
                printer.line(format!(
                    "initialised a cluster of {} voters ({})",
                    members.len(),
                    ids(&all)
                ));
                Ok(Exit::Ok)
            }
            other => Err(refusal(&common.addr, other)),
        };
    };
    let at = &members[&data_node];
    for (id, node) in nodes.iter().filter(|(id, _)| **id != data_node) {
        admin.to_leader(at, || PeerRequest::AddLearner(*id, node.clone()))?;
    }
    let voters: BTreeSet<NodeId> = all.iter().copied().collect();
    admin.to_leader(at, || PeerRequest::ChangeMembership(voters.clone()))?;
    printer.line(format!(
        "initialised a cluster of {} voters ({}) from node {data_node}'s data: the others received it by snapshot",
        members.len(),
        ids(&all)
    ));
    Ok(Exit::Ok)
}
