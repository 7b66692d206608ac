//! `drkit replicate`: a cluster node that joins as a learner, an asynchronous read-only
//! replica. It serves like `serve --node-id`, and asks the cluster behind `--join` to add it.

use crate::error::Exit;
use crate::output::Printer;

#[derive(Debug, clap::Args)]
pub struct JoinArgs {
    /// A member's --raft-listen address; the request follows it to the leader.
    #[arg(long)]
    pub join: String,
    #[command(flatten)]
    pub serve: super::serve::Args,
}

pub fn run(printer: &Printer, args: JoinArgs) -> anyhow::Result<Exit> {
    let Some(node_id) = args.serve.node_id else {
        anyhow::bail!("replicate needs --node-id, --raft-listen and --cluster-secret-file");
    };
    let (Some(secret_file), Some(raft_listen)) = (
        args.serve.cluster_secret_file.clone(),
        args.serve.raft_listen.clone(),
    ) else {
        anyhow::bail!("replicate needs --raft-listen and --cluster-secret-file");
    };
    let join = args.join.clone();
    // A node that is not a member yet asks --join first, before it opens anything: a wrong
    // address (a client port, a closed port, another server) fails now, naming what is there,
    // rather than leaving a node running that never joins.
    let member = crate::format::raft_state::RaftState::load(&args.serve.data.join("raft"))
        .ok()
        .flatten()
        .is_some_and(|st| st.cluster_id != [0; 16]);
    if !member {
        super::cluster::check_join(&join, &secret_file)?;
    }
    let on_node: super::serve::OnNode = Box::new(move |node| {
        let (_, cluster_id) = node.log.identity();
        if cluster_id != [0; 16] {
            // Already a member (a restart): nothing to ask.
            return;
        }
        std::thread::spawn(move || {
            let outcome = super::cluster::add_learner(&join, &secret_file, node_id, &raft_listen);
            match outcome {
                Ok(()) => tracing::info!(
                    node = node_id,
                    "node {node_id} joined as a learner and caught up"
                ),
                Err(e) => tracing::error!(
                    node = node_id,
                    "joining through {join} failed: {e:#}; retry with `drkit cluster add-learner`"
                ),
            }
        });
    });
    super::serve::run_with(printer, args.serve, Some(on_node))
}
