//! This process's peak resident memory (Linux's VmHWM), reset before a measured step so the
//! figure is the step's own and not the build's before it.

/// Resets the peak to the current resident size; false where the kernel does not allow it
/// (then the peak also covers what ran before).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident size since the start or the last [`reset_peak`], in bytes.
pub fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_peak_covers_what_was_touched_since_the_reset() {
        super::reset_peak();
        let before = super::peak_bytes().unwrap();
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let after = super::peak_bytes().unwrap();
        assert!(after >= before + (60 << 20), "{before} -> {after}");
    }
}
