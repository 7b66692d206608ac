//! The bloom block: k probes over one bit array, double hashing of xxh3 (layout in mod.rs).

use super::*;

pub(super) fn bloom_probes(bits_per_key: u32) -> u8 {
    // ln 2 ≈ 0.69 probes per bit-per-key minimises the false-positive rate.
    let k = (f64::from(bits_per_key) * 0.69).round();
    k.clamp(1.0, f64::from(MAX_BLOOM_PROBES)) as u8
}

pub(super) fn bloom_bit_positions(hash: u64, k: u8, nbits: u64) -> impl Iterator<Item = u64> {
    let h1 = hash & 0xffff_ffff;
    let h2 = hash >> 32;
    (0..u64::from(k)).map(move |i| (h1 + i * h2) % nbits)
}

pub(super) fn build_bloom(hashes: &[u64], bits_per_key: u32) -> Vec<u8> {
    let k = bloom_probes(bits_per_key);
    let nbits = (hashes.len() as u64)
        .saturating_mul(u64::from(bits_per_key))
        .max(MIN_BLOOM_BITS)
        .next_multiple_of(8);
    let mut out = vec![0u8; 1 + (nbits / 8) as usize];
    out[0] = k;
    let bits = &mut out[1..];
    for &h in hashes {
        for bit in bloom_bit_positions(h, k, nbits) {
            bits[(bit / 8) as usize] |= 1 << (bit % 8);
        }
    }
    out
}
