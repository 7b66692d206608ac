//! A repository of either kind for the CLI tests: a local dir, or a bucket prefix on a real
//! S3 server (moto's, tests/s3_server.rs); and `on_both_kinds!`, which runs a scenario on
//! each.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use drkit::backup::repo::{Repo, RepoLocation};
use drkit::backup::store::{RepoStore, S3Config, StaticKey};

use super::common::*;
use super::s3_server::S3Server;

const KEY_ID: &str = "testing";
const SECRET: &str = "testing";

/// A repository of either kind, as the command line names it and as the test reads it.
pub struct TestRepo {
    pub url: String,
    pub endpoint: Option<String>,
    pub location: RepoLocation,
}

impl TestRepo {
    pub fn local(dir: &Path) -> TestRepo {
        TestRepo {
            url: dir.display().to_string(),
            endpoint: None,
            location: RepoLocation::Local(dir.to_path_buf()),
        }
    }

    pub fn s3(server: &S3Server, bucket: &str) -> TestRepo {
        server.create_bucket(bucket);
        let url = format!("s3://{bucket}/team/repo");
        let mut cfg = S3Config::from_url(&url).unwrap();
        cfg.endpoint = Some(server.endpoint());
        cfg.region = Some("us-east-1".into());
        cfg.path_style = true;
        cfg.key = Some(StaticKey {
            id: KEY_ID.into(),
            secret: SECRET.into(),
            token: None,
        });
        TestRepo {
            url,
            endpoint: Some(server.endpoint()),
            location: RepoLocation::S3(cfg),
        }
    }

    pub fn is_s3(&self) -> bool {
        self.endpoint.is_some()
    }

    /// `drkit ARGS --repo R` with the S3 settings and credentials in the environment, as a
    /// cron job would run it.
    /// The repository's flags go right after the subcommand, so the caller may end ARGS
    /// with an option whose value it appends.
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = drkit();
        let words = args.iter().take_while(|a| !a.starts_with('-')).count();
        c.args(&args[..words]);
        self.configure(&mut c);
        c.args(&args[words..]);
        c
    }

    fn configure(&self, c: &mut assert_cmd::Command) {
        c.arg("--repo").arg(&self.url);
        scrub_aws_env(c);
        if let Some(endpoint) = &self.endpoint {
            c.args(["--s3-endpoint", endpoint, "--s3-path-style"]);
            c.args(["--s3-part-size", "5MiB"]);
            c.env("AWS_ACCESS_KEY_ID", KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env("AWS_REGION", "us-east-1");
        }
    }

    /// The same command as a child process, for tests that kill it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut c = std::process::Command::new(drkit_path());
        c.args(args).arg("--repo").arg(&self.url);
        for var in AWS_VARS {
            c.env_remove(var);
        }
        if let Some(endpoint) = &self.endpoint {
            c.args(["--s3-endpoint", endpoint, "--s3-path-style"]);
            c.args(["--s3-part-size", "5MiB"]);
            c.env("AWS_ACCESS_KEY_ID", KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env("AWS_REGION", "us-east-1");
        }
        c.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn store(&self) -> Arc<dyn RepoStore> {
        self.location.open_store().unwrap()
    }

    pub fn repo(&self) -> Repo {
        Repo::open(&self.location).unwrap()
    }

    /// Every object key under `prefix`, at any depth, sorted.
    pub fn keys_under(&self, prefix: &str) -> Vec<(String, u64)> {
        let store = self.store();
        let mut out = Vec::new();
        let mut todo = vec![prefix.to_string()];
        while let Some(p) = todo.pop() {
            let listing = store.list(&p).unwrap();
            let join = |name: &str| {
                if p.is_empty() {
                    name.to_string()
                } else {
                    format!("{p}/{name}")
                }
            };
            for (name, size) in &listing.objects {
                out.push((join(name), *size));
            }
            for name in &listing.prefixes {
                todo.push(join(name));
            }
        }
        out.sort();
        out
    }
}

const AWS_VARS: [&str; 8] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_SHARED_CREDENTIALS_FILE",
];

/// Nothing of the machine's own AWS set-up leaks into a test.
fn scrub_aws_env(c: &mut assert_cmd::Command) {
    for var in AWS_VARS {
        c.env_remove(var);
    }
    c.env("HOME", std::env::temp_dir().join("drkit-test-no-home"));
}

/// Runs `scenario` on a local repository and on an S3 one.
#[macro_export]
macro_rules! on_both_kinds {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[test]
                fn $name() {
                    let tmp = tempfile::tempdir().unwrap();
                    let repo = super::TestRepo::local(&tmp.path().join("repo"));
                    super::$name(&repo, tmp.path());
                }
            )*
        }
        mod s3 {
            $(
                #[test]
                fn $name() {
                    let tmp = tempfile::tempdir().unwrap();
                    let server = super::S3Server::start();
                    let repo = super::TestRepo::s3(&server, "drkit-backups");
                    super::$name(&repo, tmp.path());
                }
            )*
        }
    };
}
