//! A real S3 server for the tests: moto's standalone server (PyPI's `moto[server]`, which
//! .ci/test installs), started on a free port and stopped when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drkit::backup::store::{S3Config, S3Store, StaticKey};

use super::cluster_procs::free_port;

pub struct S3Server {
    child: Child,
    pub port: u16,
}

impl S3Server {
    pub fn start() -> S3Server {
        Self::start_on(free_port())
    }

    /// A server on `port` (a restarted one: moto keeps nothing across restarts).
    pub fn start_on(port: u16) -> S3Server {
        Self::spawn(port, None)
    }

    /// A server that checks keys after its first `free` requests: a key it does not know
    /// (any key, as no IAM user is made) is refused with 403 InvalidAccessKeyId.
    pub fn start_checking_keys_after(free: u32) -> S3Server {
        Self::spawn(free_port(), Some(free))
    }

    fn spawn(port: u16, free_requests: Option<u32>) -> S3Server {
        let mut command = Command::new("moto_server");
        if let Some(n) = free_requests {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("moto_server did not start ({e}): install it with `pip install 'moto[server]'` (bash .ci/test does)")
            });
        let server = S3Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates `bucket` (moto takes any signature, so a bare request will do).
    pub fn create_bucket(&self, bucket: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "creating {bucket}: {answer}"
        );
    }

    /// A store on `bucket` under `prefix`, with a test key.
    pub fn store(&self, bucket: &str, prefix: &str, part_size: usize) -> S3Store {
        let mut cfg = S3Config::from_url(&format!("s3://{bucket}/{prefix}")).unwrap();
        cfg.endpoint = Some(self.endpoint());
        cfg.region = Some("us-east-1".into());
        cfg.path_style = true;
        cfg.part_size = part_size;
        cfg.key = Some(StaticKey {
            token: None,
            id: "testing".into(),
            secret: "testing".into(),
        });
        S3Store::new(cfg).unwrap()
    }
}

impl S3Server {
    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
