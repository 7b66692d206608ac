//! Credentials for an S3 repository from the places the AWS tools look, in their order:
//! the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, read
//! by the S3 client itself), then a profile of the shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`; profile `--s3-profile`, else
//! `AWS_PROFILE`, else `default`). Never from a flag: its value would show in `ps`.
//!
//! The file is INI: `[profile]` sections of `key = value` lines, `#` and `;` comments.

use std::path::{Path, PathBuf};

use super::StaticKey;
use crate::error::{Error, Result};

/// Where the shared credentials file is.
pub fn shared_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".aws").join("credentials"))
}

/// Whether the environment holds a key (then it wins, as with the AWS tools).
pub fn in_environment() -> bool {
    std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some()
}

/// The key of `profile` (None: `AWS_PROFILE`, else `default`) in the shared credentials file.
/// None when the file or a default profile is absent; an error when a profile named by the
/// operator is missing or incomplete.
pub fn from_profile(profile: Option<&str>) -> Result<Option<StaticKey>> {
    let env_profile = std::env::var("AWS_PROFILE").ok();
    let (name, named) = match profile.or(env_profile.as_deref()) {
        Some(p) => (p.to_string(), true),
        None => ("default".to_string(), false),
    };
    let Some(path) = shared_file() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    match parse_profile(&text, &name) {
        Some(key) => Ok(Some(key)),
        None if !named => Ok(None),
        None => Err(Error::InvalidInput(format!(
            "{}: no profile [{name}] with aws_access_key_id and aws_secret_access_key",
            path.display()
        ))),
    }
}

/// The key in section `[name]` of a credentials file's text.
fn parse_profile(text: &str, name: &str) -> Option<StaticKey> {
    let (mut id, mut secret, mut token) = (None, None, None);
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            // The config file spells sections `[profile NAME]`; accept that here too.
            let section = section.trim();
            inside =
                section == name || section.strip_prefix("profile ").map(str::trim) == Some(name);
            continue;
        }
        if !inside {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim() {
            "aws_access_key_id" => id = Some(v),
            "aws_secret_access_key" => secret = Some(v),
            "aws_session_token" => token = Some(v),
            _ => {}
        }
    }
    Some(StaticKey {
        id: id?,
        secret: secret?,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_from_ini_sections() {
        let text = "\
# a comment
[default]
aws_access_key_id = AKIDEFAULT
aws_secret_access_key=secret0

[backup]
; cron's key
aws_access_key_id = AKIBACKUP
aws_secret_access_key = secret1
aws_session_token = tok
[profile other]
aws_access_key_id = AKIOTHER
";
        let d = parse_profile(text, "default").unwrap();
        assert_eq!(
            (d.id.as_str(), d.secret.as_str(), d.token),
            ("AKIDEFAULT", "secret0", None)
        );
        let b = parse_profile(text, "backup").unwrap();
        assert_eq!(b.id, "AKIBACKUP");
        assert_eq!(b.token.as_deref(), Some("tok"));
        // No secret: incomplete, so not a key.
        assert!(parse_profile(text, "other").is_none());
        assert!(parse_profile(text, "missing").is_none());
    }
}
