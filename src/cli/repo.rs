//! `--repo` and the settings of an S3 repository, shared by every command that takes one.

use crate::backup::repo::RepoLocation;
use crate::backup::store::{DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE};

#[derive(Debug, Clone, clap::Args)]
pub struct Repository {
    /// The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store
    /// (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a
    /// profile of ~/.aws/credentials).
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX")]
    pub repo: String,
    #[command(flatten)]
    pub s3: S3Flags,
}

/// How to reach an S3 repository; ignored for a local one.
#[derive(Debug, Clone, clap::Args)]
pub struct S3Flags {
    /// The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT.
    #[arg(
        long,
        value_name = "URL",
        env = "AWS_ENDPOINT_URL",
        help_heading = "S3 repositories"
    )]
    pub s3_endpoint: Option<String>,
    /// The bucket's region (default: AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION", help_heading = "S3 repositories")]
    pub s3_region: Option<String>,
    /// Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers
    /// need, rather than in the host name.
    #[arg(long, help_heading = "S3 repositories")]
    pub s3_path_style: bool,
    /// Part size of multipart uploads (`16MiB`; at least 5 MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = DEFAULT_PART_SIZE, help_heading = "S3 repositories")]
    pub s3_part_size: usize,
    /// Parts of one upload sent at once; memory per upload is about part size × this.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64), help_heading = "S3 repositories")]
    pub s3_concurrency: usize,
    /// The profile of the shared credentials file to use when the environment holds no key
    /// (default: AWS_PROFILE, else `default`).
    #[arg(long, value_name = "NAME", help_heading = "S3 repositories")]
    pub s3_profile: Option<String>,
}

impl Repository {
    /// Where the repository is, with the S3 settings applied to an S3 one.
    pub fn location(&self) -> crate::error::Result<RepoLocation> {
        self.s3.locate(&self.repo)
    }
}

impl S3Flags {
    /// `repo` (a path or an s3:// URL) with these settings applied to an S3 one.
    pub fn locate(&self, repo: &str) -> crate::error::Result<RepoLocation> {
        let mut location = RepoLocation::parse(repo)?;
        if let RepoLocation::S3(cfg) = &mut location {
            cfg.endpoint.clone_from(&self.s3_endpoint);
            cfg.region.clone_from(&self.s3_region);
            cfg.path_style = self.s3_path_style;
            cfg.part_size = self.s3_part_size;
            cfg.concurrency = self.s3_concurrency;
            cfg.profile.clone_from(&self.s3_profile);
        }
        Ok(location)
    }
}

/// `16MiB`, `8M`, `5242880`: a size in bytes with an optional binary unit.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 16MiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        u => return Err(format!("{s:?}: unknown unit {u:?} (use KiB, MiB or GiB)")),
    };
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("8m"), Ok(8 << 20));
        assert_eq!(parse_size("5242880"), Ok(5_242_880));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
