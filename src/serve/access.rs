//! Who may talk to the server: the password check and Redis' protected mode.

use std::net::IpAddr;

/// Protected mode (as in Redis): with no password set, only loopback clients are served, so
/// a server bound to a public address by mistake does not hand its data to the network.
pub fn refused_by_protected_mode(peer: IpAddr, password_set: bool, protected: bool) -> bool {
    protected && !password_set && !is_loopback(peer)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

pub const PROTECTED_MODE_ERROR: &str = "DENIED drkit is running in protected mode: no password is set, so only loopback clients are served. Set one with --requirepass-file PATH or the DRKIT_REQUIREPASS environment variable and connect with AUTH, or if the network is trusted, restart with --no-protected-mode";

/// The configured password, compared in constant time: both sides are hashed first, so
/// neither the content nor the length of the secret leaks through the comparison's timing.
#[derive(Clone)]
pub struct Password(blake3::Hash);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

impl Password {
    pub fn new(secret: &[u8]) -> Password {
        Password(blake3::hash(secret))
    }

    pub fn matches(&self, attempt: &[u8]) -> bool {
        // blake3::Hash's PartialEq is constant time.
        self.0 == blake3::hash(attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_mode_refuses_only_non_loopback_without_password() {
        let lo4: IpAddr = "127.0.0.1".parse().unwrap();
        let lo4b: IpAddr = "127.8.9.10".parse().unwrap();
        let lo6: IpAddr = "::1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let lan: IpAddr = "10.200.0.2".parse().unwrap();
        let lan6: IpAddr = "fd00::2".parse().unwrap();
        let mapped_lan: IpAddr = "::ffff:192.168.1.5".parse().unwrap();
        for ip in [lo4, lo4b, lo6, mapped] {
            assert!(!refused_by_protected_mode(ip, false, true), "{ip}");
        }
        for ip in [lan, lan6, mapped_lan] {
            assert!(refused_by_protected_mode(ip, false, true), "{ip}");
            assert!(
                !refused_by_protected_mode(ip, true, true),
                "{ip} with a password"
            );
            assert!(
                !refused_by_protected_mode(ip, false, false),
                "{ip} protected mode off"
            );
        }
    }

    #[test]
    fn password_matches_exactly() {
        let p = Password::new(b"s3cret");
        assert!(p.matches(b"s3cret"));
        assert!(!p.matches(b"s3cre"));
        assert!(!p.matches(b"s3cret "));
        assert!(!p.matches(b""));
        assert_eq!(format!("{p:?}"), "Password(<hidden>)");
    }
}
