//! A repository under a bucket prefix on an S3-compatible object store (AWS, MinIO, Ceph,
//! R2...), through the `object_store` crate. A key is an object name under the prefix.
//!
//! - Whole objects are single PUTs; streams go up as multipart uploads of `part_size` parts,
//!   `concurrency` at a time, so memory stays near part_size × concurrency whatever the size.
//!   A stream that ends within its first part is one PUT. An upload dropped unfinished is
//!   aborted, so no part stays billed.
//! - `create` is a conditional PUT (`If-None-Match: *`): the server refuses it where an
//!   object is, so two processes on two machines cannot both take one lock.
//! - The server checks each upload against the SHA-256 the client sends with it;
//!   transient failures (5xx, throttling, dropped connections) are retried with backoff by
//!   the client, for a bounded time; a refusal (403, 404 bucket) fails at once, naming the
//!   bucket, the key and the server's error code.
//!
//! ```text
//!  s3://BUCKET/PREFIX/<key>              each repository key, as an object
//!  s3://BUCKET/PREFIX/uploads/<token>    a multipart upload under way, JSON:
//!    {"key": "backups/<id>/files/sst/…​.zst", "upload_id": "…", "host": "db1",
//!     "pid": 4242, "started": "2026-12-07T02:30:00.000Z"}
//!                                        removed when the upload completes or is aborted;
//!                                        the next clean-up of the key's area aborts the
//!                                        upload a killed writer left and removes the record
//! ```
//!
//! The repository code is synchronous (threads, rayon); this store runs its requests on a
//! runtime of its own and waits for them on a channel, so it may be called from any thread,
//! also one that is inside another async runtime.

use std::future::Future;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
};

use super::lock::{self, Attempt, Holder, LockMode};
use super::{Listing, RepoStore, StoreWriter, check_key, check_prefix};
use crate::error::{Error, Result};

/// Default multipart part size: S3's minimum is 5 MiB.
pub const DEFAULT_PART_SIZE: usize = 16 << 20;
/// Default parts in flight per upload.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Where the repository is and how to reach it. Credentials are not here: they come from
/// the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), never
/// from a flag whose value would show in `ps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// The repository's prefix in the bucket ("" for the whole bucket), without slashes at
    /// either end.
    pub prefix: String,
    /// A self-hosted or non-AWS server (`http://127.0.0.1:9000`); None for AWS itself.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Bucket in the path (`ENDPOINT/BUCKET/KEY`) rather than in the host name: what most
    /// self-hosted servers need.
    pub path_style: bool,
    pub part_size: usize,
    pub concurrency: usize,
    /// The profile of the shared credentials file to use when the environment holds no key
    /// (see credentials.rs).
    pub profile: Option<String>,
    /// A key given by a program that embeds drkit (and the tests); None: found as
    /// credentials.rs says. The command line never sets it.
    pub key: Option<StaticKey>,
}

/// An access key given in code rather than found in the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKey {
    pub id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticKey {{ id: {:?}, secret: (hidden) }}", self.id)
    }
}

impl S3Config {
    /// `s3://BUCKET[/PREFIX]`, with the defaults for the rest.
    pub fn from_url(url: &str) -> Result<S3Config> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            Error::InvalidInput(format!("{url}: an S3 repository is s3://BUCKET[/PREFIX]"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.len() < 3 || bucket.len() > 63 || bucket.contains(['\\', ' ']) {
            return Err(Error::InvalidInput(format!(
                "{url}: {bucket:?} is not a bucket name (3 to 63 characters)"
            )));
        }
        check_prefix(prefix).map_err(|_| {
            Error::InvalidInput(format!(
                "{url}: the prefix {prefix:?} has an empty, `.` or `..` part"
            ))
        })?;
        Ok(S3Config {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint: None,
            region: None,
            path_style: false,
            part_size: DEFAULT_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            profile: None,
            key: None,
        })
    }

    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// The store's own runtime, shut down without waiting when the store goes (it may be dropped
/// inside another runtime, where a blocking shutdown would panic).
#[derive(Debug)]
struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .map(tokio::runtime::Runtime::handle)
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

#[derive(Debug)]
struct Inner {
    cfg: S3Config,
    client: AmazonS3,
    rt: Runtime,
}

#[derive(Debug, Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

/// Runs `f` on the store's runtime and waits for it from this thread.
fn run<F>(rt: &tokio::runtime::Handle, f: F) -> Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .map_err(|_| Error::InvalidInput("the S3 client's runtime stopped".into()))
}

/// What to check, by what the server or the connection said.
fn hint_for(what: &str) -> &'static str {
    let has = |s: &str| what.contains(s);
    if has("NoSuchBucket") {
        "the bucket does not exist: create it, or fix the name in the s3:// URL"
    } else if has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("AccessDenied")
        || has("403")
    {
        "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and that the bucket policy allows this key"
    } else if has("error sending request") || has("connect") || has("dns") || has("timed out") {
        "the server did not answer: check --s3-endpoint (scheme, host and port) and the network"
    } else {
        ""
    }
}

impl S3Store {
    /// Connects nothing yet: the first request tells whether the bucket, the endpoint and
    /// the credentials are right.
    pub fn new(cfg: S3Config) -> Result<S3Store> {
        if cfg.part_size < 5 << 20 {
            return Err(Error::InvalidInput(format!(
                "part size {} bytes is below S3's minimum of 5 MiB",
                cfg.part_size
            )));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&cfg.bucket)
            .with_virtual_hosted_style_request(!cfg.path_style)
            // Each upload carries its SHA-256 (x-amz-checksum-sha256) for the server to check.
            .with_checksum_algorithm(Checksum::SHA256)
            .with_retry(RetryConfig {
                max_retries: 5,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120))
                    .with_allow_http(
                        cfg.endpoint
                            .as_deref()
                            .is_some_and(|e| e.starts_with("http://")),
                    ),
            );
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &cfg.region {
            builder = builder.with_region(region);
        }
        let key = match &cfg.key {
            Some(k) => Some(k.clone()),
            None if super::credentials::in_environment() => None,
            None => super::credentials::from_profile(cfg.profile.as_deref())?,
        };
        if let Some(key) = key {
            builder = builder
                .with_access_key_id(&key.id)
                .with_secret_access_key(&key.secret);
            if let Some(token) = &key.token {
                builder = builder.with_token(token);
            }
        } else if cfg.endpoint.is_some() && !super::credentials::in_environment() {
            // Off AWS there is no instance metadata to ask: say so now rather than after a
            // timeout.
            return Err(Error::Remote {
                location: cfg.url(),
                what: "no credentials found".into(),
                hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (--s3-profile, AWS_PROFILE)".into(),
            });
        }
        let client = builder.build().map_err(|e| Error::Remote {
            location: cfg.url(),
            what: e.to_string(),
            hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a session token) in the environment".into(),
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("drkit-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot start the S3 client: {e}")))?;
        Ok(S3Store {
            inner: Arc::new(Inner {
                cfg,
                client,
                rt: Runtime(Some(rt)),
            }),
        })
    }

    pub fn config(&self) -> &S3Config {
        &self.inner.cfg
    }

    fn object(&self, key: &str) -> Result<ObjectPath> {
        check_key(key)?;
        self.join(key)
    }

    fn join(&self, key: &str) -> Result<ObjectPath> {
        let full = match (self.inner.cfg.prefix.as_str(), key) {
            ("", k) => k.to_string(),
            (p, "") => p.to_string(),
            (p, k) => format!("{p}/{k}"),
        };
        ObjectPath::parse(&full).map_err(|e| Error::InvalidInput(format!("{full:?}: {e}")))
    }

    fn remote(&self, key: &str, e: &object_store::Error) -> Error {
        let what = one_line(&e.to_string());
        Error::Remote {
            location: self.locate(key).display().to_string(),
            hint: hint_for(&what).to_string(),
            what,
        }
    }

    fn run<F>(&self, f: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        run(self.inner.rt.handle(), f)
    }

    fn client(&self) -> AmazonS3 {
        self.inner.client.clone()
    }

    /// The names one level under `prefix`, relative to it.
    fn relative(prefix: &ObjectPath, path: &ObjectPath) -> Option<String> {
        path.prefix_match(prefix)
            .and_then(|mut parts| parts.next())
            .map(|p| p.as_ref().to_string())
    }
}

/// A client error as one line: the request that failed and the server's error code and
/// message, without the XML body they came in.
fn one_line(what: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = what.find(&open)? + open.len();
        let len = what.get(start..)?.find(&format!("</{name}>"))?;
        what.get(start..start + len)
    };
    let head = what.split("<?xml").next().unwrap_or(what);
    let mut line: String = head.split_whitespace().collect::<Vec<_>>().join(" ");
    line = line.trim_end_matches(':').to_string();
    if let Some(code) = tag("Code") {
        line.push_str(&format!(" (server said {code}"));
        if let Some(message) = tag("Message") {
            line.push_str(&format!(": {message}"));
        }
        line.push(')');
    }
    line
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl RepoStore for S3Store {
    fn locate(&self, key: &str) -> PathBuf {
        let base = self.inner.cfg.url();
        PathBuf::from(if key.is_empty() {
            base
        } else {
            format!("{base}/{key}")
        })
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.object(key)?;
        let client = self.client();
        let got = self.run(async move {
            match client.get(&path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        got.map(|b| b.map(|b| b.to_vec()))
            .map_err(|e| self.remote(key, &e))
    }

    fn reader(&self, key: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let path = self.object(key)?;
        // An object of several parts comes down as ranges fetched in parallel, as it went up.
        let part = self.inner.cfg.part_size as u64;
        match self.size(key)? {
            None => return Ok(None),
            Some(size) if size > part => {
                let reader = S3Reader::ranged(self.clone(), key, path, size);
                return Ok(Some((Box::new(reader), size)));
            }
            Some(_) => {}
        }
        let client = self.client();
        let got = self.run(async move {
            match client.get(&path).await {
                Ok(r) => Ok(Some((r.meta.size, r.into_stream()))),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        match got.map_err(|e| self.remote(key, &e))? {
            None => Ok(None),
            Some((size, stream)) => Ok(Some((
                Box::new(S3Reader::start(self.clone(), key, stream)),
                size,
            ))),
        }
    }

    fn size(&self, key: &str) -> Result<Option<u64>> {
        let path = self.object(key)?;
        let client = self.client();
        let got = self.run(async move {
            match client.head(&path).await {
                Ok(m) => Ok(Some(m.size)),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        got.map_err(|e| self.remote(key, &e))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.object(key)?;
        let client = self.client();
        let payload = PutPayload::from(bytes.to_vec());
        self.run(async move { client.put(&path, payload).await })?
            .map(|_| ())
            .map_err(|e| self.remote(key, &e))
    }

    fn create(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        let path = self.object(key)?;
        let client = self.client();
        let payload = PutPayload::from(bytes.to_vec());
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.run(async move { client.put_opts(&path, payload, opts).await })? {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(false),
            Err(e) => Err(self.remote(key, &e)),
        }
    }

    fn writer(&self, key: &str) -> Result<Box<dyn StoreWriter>> {
        let path = self.object(key)?;
        Ok(Box::new(S3Writer {
            store: self.clone(),
            key: key.to_string(),
            path,
            pending: Vec::new(),
            upload: None,
            size: 0,
            finished: false,
        }))
    }

    fn list(&self, prefix: &str) -> Result<Listing> {
        check_prefix(prefix)?;
        let base = self.join(prefix)?;
        let client = self.client();
        let under = base.clone();
        let listed = self.run(async move {
            let at = (!under.as_ref().is_empty()).then_some(under);
            client.list_with_delimiter(at.as_ref()).await
        })?;
        let listed = listed.map_err(|e| self.remote(prefix, &e))?;
        let mut listing = Listing::default();
        for p in &listed.common_prefixes {
            if let Some(name) = Self::relative(&base, p) {
                listing.prefixes.push(name);
            }
        }
        for o in &listed.objects {
            if let Some(name) = Self::relative(&base, &o.location) {
                listing.objects.push((name, o.size));
            }
        }
        listing.objects.sort();
        listing.prefixes.sort();
        Ok(listing)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let path = self.object(key)?;
        let client = self.client();
        let done = self.run(async move {
            match client.head(&path).await {
                Err(e) if not_found(&e) => Ok(false),
                Err(e) => Err(e),
                Ok(_) => client.delete(&path).await.map(|()| true),
            }
        })?;
        done.map_err(|e| self.remote(key, &e))
    }

    fn delete_prefix(&self, prefix: &str) -> Result<()> {
        check_key(prefix)?;
        let base = self.join(prefix)?;
        let client = self.client();
        let done = self.run(async move {
            let found: Vec<_> = client.list(Some(&base)).collect().await;
            for meta in found {
                match client.delete(&meta?.location).await {
                    Ok(()) => {}
                    Err(e) if not_found(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })?;
        done.map_err(|e| self.remote(prefix, &e))
    }

    fn clean_unfinished(&self, prefix: &str) -> Result<Vec<PathBuf>> {
        self.abort_recorded(prefix)
    }

    fn try_lock(&self, name: &str, mode: LockMode, me: &Holder) -> Result<Attempt> {
        lock::try_lease(self, name, mode, me)
    }

    fn break_lock(&self, name: &str) -> Result<Vec<Holder>> {
        lock::break_lease(self, name)
    }
}

/// Chunks of a download received ahead of the reader: the connection keeps going while the
/// reader decompresses and writes what came before.
const READ_AHEAD_CHUNKS: usize = 256;

/// A download, pumped by a task on the store's runtime into a bounded channel that the
/// reading thread drains: one hand-over per network chunk, not a task per chunk.
struct S3Reader {
    store: S3Store,
    key: String,
    chunks: tokio::sync::mpsc::Receiver<object_store::Result<Bytes>>,
    pump: tokio::task::JoinHandle<()>,
    chunk: Bytes,
    done: bool,
}

impl S3Reader {
    fn start(
        store: S3Store,
        key: &str,
        mut stream: BoxStream<'static, object_store::Result<Bytes>>,
    ) -> S3Reader {
        let (tx, chunks) = tokio::sync::mpsc::channel(READ_AHEAD_CHUNKS);
        let pump = store.inner.rt.handle().spawn(async move {
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        S3Reader {
            store,
            key: key.to_string(),
            chunks,
            pump,
            chunk: Bytes::new(),
            done: false,
        }
    }
}

impl S3Reader {
    /// The object `path` of `size` bytes as ranges of a part each, `concurrency` requests at a
    /// time, handed over in order. Memory: about (concurrency + 2) parts.
    fn ranged(store: S3Store, key: &str, path: ObjectPath, size: u64) -> S3Reader {
        let (part, concurrency) = (
            store.inner.cfg.part_size as u64,
            store.inner.cfg.concurrency.max(1),
        );
        let (tx, chunks) = tokio::sync::mpsc::channel(1);
        let client = store.client();
        let pump = store.inner.rt.handle().spawn(async move {
            let mut starts = (0..size.div_ceil(part)).map(|i| i * part);
            let mut in_flight = futures::stream::FuturesOrdered::new();
            loop {
                while in_flight.len() < concurrency {
                    let Some(start) = starts.next() else { break };
                    let (client, path) = (client.clone(), path.clone());
                    let end = (start + part).min(size);
                    in_flight.push_back(async move { client.get_range(&path, start..end).await });
                }
                let Some(range) = in_flight.next().await else {
                    break;
                };
                let failed = range.is_err();
                if tx.send(range).await.is_err() || failed {
                    break;
                }
            }
        });
        S3Reader {
            store,
            key: key.to_string(),
            chunks,
            pump,
            chunk: Bytes::new(),
            done: false,
        }
    }
}

impl Drop for S3Reader {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.done {
                return Ok(0);
            }
            // Parks this thread, whatever it is, until the pump hands over the next chunk.
            match futures::executor::block_on(self.chunks.recv()) {
                None => {
                    self.done = true;
                    return Ok(0);
                }
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(io::Error::other(self.store.remote(&self.key, &e)));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// The record of a multipart upload in progress, `uploads/<token>`: S3 keeps the parts of an
/// upload whose writer died (and bills them) until someone aborts it by id, and the id is
/// known only to the writer. The next clean-up of the area finds it here.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct UploadRecord {
    key: String,
    upload_id: String,
    host: String,
    pid: u32,
    started: String,
}

/// Where upload records are kept.
const UPLOADS: &str = "uploads";

/// A multipart upload under way.
struct Upload {
    id: String,
    record: String,
    /// Part ids by part index, as they finish.
    done: Vec<Option<PartId>>,
    in_flight: tokio::task::JoinSet<(usize, object_store::Result<PartId>)>,
}

struct S3Writer {
    store: S3Store,
    key: String,
    path: ObjectPath,
    /// Bytes not yet sent, up to a part: a stream that ends within its first part is one PUT.
    pending: Vec<u8>,
    upload: Option<Upload>,
    size: u64,
    finished: bool,
}

impl S3Writer {
    fn failed(&self, e: &object_store::Error) -> io::Error {
        io::Error::other(self.store.remote(&self.key, e))
    }

    /// Starts the multipart upload and records it.
    fn begin(&self) -> io::Result<Upload> {
        let client = self.store.client();
        let path = self.path.clone();
        let id = self
            .store
            .run(async move { client.create_multipart(&path).await })
            .map_err(io::Error::other)?
            .map_err(|e| self.failed(&e))?;
        let me = super::lock::Holder::me("upload");
        let record = UploadRecord {
            key: self.key.clone(),
            upload_id: id.clone(),
            host: me.host,
            pid: me.pid,
            started: me.started,
        };
        let record_key = format!("{UPLOADS}/{}", me.token);
        let bytes = serde_json::to_vec(&record).unwrap_or_default();
        self.store
            .put(&record_key, &bytes)
            .map_err(io::Error::other)?;
        Ok(Upload {
            id,
            record: record_key,
            done: Vec::new(),
            in_flight: tokio::task::JoinSet::new(),
        })
    }

    /// Sends `part` as the next part, then waits while `concurrency` parts are in flight
    /// (that wait is what bounds memory).
    fn send(&mut self, part: Vec<u8>) -> io::Result<()> {
        let mut upload = match self.upload.take() {
            Some(u) => u,
            None => self.begin()?,
        };
        let idx = upload.done.len();
        upload.done.push(None);
        let (client, path, id) = (self.store.client(), self.path.clone(), upload.id.clone());
        upload.in_flight.spawn_on(
            async move {
                let put = client
                    .put_part(&path, &id, idx, PutPayload::from(part))
                    .await;
                (idx, put)
            },
            self.store.inner.rt.handle(),
        );
        let limit = self.store.inner.cfg.concurrency.max(1);
        let waited = self.settle(&mut upload, limit);
        self.upload = Some(upload);
        waited
    }

    /// Waits until fewer than `limit` parts are in flight (0: all done).
    fn settle(&self, upload: &mut Upload, limit: usize) -> io::Result<()> {
        while upload.in_flight.len() >= limit.max(1) || (limit == 0 && !upload.in_flight.is_empty())
        {
            let mut set = std::mem::take(&mut upload.in_flight);
            let (set, next) = self
                .store
                .run(async move {
                    let next = set.join_next().await;
                    (set, next)
                })
                .map_err(io::Error::other)?;
            upload.in_flight = set;
            match next {
                None => break,
                Some(Ok((idx, Ok(part)))) => {
                    if let Some(slot) = upload.done.get_mut(idx) {
                        *slot = Some(part);
                    }
                }
                Some(Ok((_, Err(e)))) => return Err(self.failed(&e)),
                Some(Err(e)) => return Err(io::Error::other(e)),
            }
        }
        Ok(())
    }

    /// Completes the upload once every part is in.
    fn complete(&mut self, mut upload: Upload) -> Result<()> {
        let at = self.store.locate(&self.key);
        self.settle(&mut upload, 0).map_err(|e| Error::io(&at, e))?;
        let parts: Vec<PartId> = upload.done.iter().flatten().cloned().collect();
        let (client, path, id) = (self.store.client(), self.path.clone(), upload.id.clone());
        let completed = self
            .store
            .run(async move { client.complete_multipart(&path, &id, parts).await })?;
        if let Err(e) = completed {
            self.upload = Some(upload);
            return Err(self.store.remote(&self.key, &e));
        }
        let _ = self.store.delete(&upload.record);
        Ok(())
    }
}

impl Write for S3Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.size += buf.len() as u64;
        self.pending.extend_from_slice(buf);
        let part_size = self.store.inner.cfg.part_size;
        if self.pending.len() >= part_size {
            let rest = self.pending.split_off(part_size);
            let part = std::mem::replace(&mut self.pending, rest);
            self.send(part)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl StoreWriter for S3Writer {
    fn finish(mut self: Box<Self>) -> Result<u64> {
        let key = self.key.clone();
        let rest = std::mem::take(&mut self.pending);
        if self.upload.is_none() {
            let client = self.store.client();
            let path = self.path.clone();
            let payload = PutPayload::from(rest);
            self.store
                .run(async move { client.put(&path, payload).await.map(|_| ()) })?
                .map_err(|e| self.store.remote(&key, &e))?;
        } else {
            if !rest.is_empty() {
                self.send(rest)
                    .map_err(|e| Error::io(self.store.locate(&key), e))?;
            }
            if let Some(upload) = self.upload.take() {
                self.complete(upload)?;
            }
        }
        self.finished = true;
        Ok(self.size)
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take()
            && !self.finished
        {
            // Aborted here when we can; what a killed process leaves, its record tells the
            // next clean-up (and a bucket's abort-incomplete-uploads rule) to remove.
            upload.in_flight.abort_all();
            let (client, path, id) = (self.store.client(), self.path.clone(), upload.id.clone());
            let aborted = self
                .store
                .run(async move { client.abort_multipart(&path, &id).await });
            if matches!(aborted, Ok(Ok(()))) {
                let _ = self.store.delete(&upload.record);
            }
        }
    }
}

impl S3Store {
    /// Aborts the recorded uploads of keys under `prefix` and removes their records.
    fn abort_recorded(&self, prefix: &str) -> Result<Vec<PathBuf>> {
        let mut aborted = Vec::new();
        let under = format!("{prefix}/");
        for (name, _) in self.list(UPLOADS)?.objects {
            let record_key = format!("{UPLOADS}/{name}");
            let Some(bytes) = self.get(&record_key)? else {
                continue;
            };
            let Ok(record) = serde_json::from_slice::<UploadRecord>(&bytes) else {
                self.delete(&record_key)?;
                continue;
            };
            if !(prefix.is_empty() || record.key.starts_with(&under)) {
                continue;
            }
            let path = self.object(&record.key)?;
            let client = self.client();
            let id = record.upload_id.clone();
            match self.run(async move { client.abort_multipart(&path, &id).await })? {
                Ok(()) => {}
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(self.remote(&record.key, &e)),
            }
            self.delete(&record_key)?;
            aborted.push(self.locate(&record.key));
        }
        Ok(aborted)
    }
}
