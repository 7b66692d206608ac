//! The manifest: an append-only log of version edits describing which SSTs make up the tree.
//!
//! ```text
//!  MANIFEST-{number:06}
//!  +-----------+------------------------------------------------------------+
//!  | envelope  | record | record | ...                                      |
//!  | 16 B      |                                                            |
//!  +-----------+------------------------------------------------------------+
//!
//!  record:  +-----------+--------------+--------------------------+
//!           | length L  | crc32c masked| version edit, L bytes    |
//!           | u32 LE    | u32 LE       |                          |
//!           +-----------+--------------+--------------------------+
//!
//!  version edit: a list of (varint tag, field) pairs
//!   1 HistoryId    16 bytes        identity of this dir's history (new after a restore)
//!   2 FlushedSeq   varint          checkpoint: every entry <= it is in the SSTs
//!   3 NextFileNo   varint          next SST file number
//!   4 AddFile      u8 level, varint file no, varint size, bytes smallest, bytes largest,
//!                  varint min seq, varint max seq, varint entries
//!   5 DeleteFile   u8 level, varint file no
//!   6 LastSeq      varint          highest sequence ever assigned
//!   7 ClusterState bytes           cluster mode: the Raft state machine's applied state at
//!                                  FlushedSeq (last applied log id and membership, JSON;
//!                                  opaque to the engine, see cluster/state_machine.rs)
//!  (bytes = varint length + bytes)
//! ```
//!
//! Each record is appended and fsynced before the engine acts on it. A record cut short or
//! failing its checksum at the very end is an edit that was never acted on (a crash during the
//! append) and is ignored; damage followed by more records is corruption, also when a damaged
//! length field makes a middle record appear to run past the end of the file (an intact record
//! after it gives that away).

use std::collections::BTreeMap;
use std::path::Path;

use super::envelope::{self, Kind};
use super::{Cursor, masked_crc, put_bytes, put_varint};
use crate::error::{Error, Result};

pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

pub fn parse_manifest_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("MANIFEST-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileMeta {
    pub level: u8,
    pub file_no: u64,
    pub size: u64,
    #[serde(serialize_with = "crate::format::manifest::hex")]
    pub smallest: Vec<u8>,
    #[serde(serialize_with = "crate::format::manifest::hex")]
    pub largest: Vec<u8>,
    pub min_seq: u64,
    pub max_seq: u64,
    pub entries: u64,
}

pub fn hex<S: serde::Serializer>(bytes: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    s.serialize_str(&text)
}

impl FileMeta {
    /// The manifest's record of a table, from the table's own properties.
    pub fn from_properties(level: u8, file_no: u64, props: super::sst::SstProperties) -> FileMeta {
        FileMeta {
            level,
            file_no,
            size: props.file_size,
            smallest: props.smallest,
            largest: props.largest,
            min_seq: props.min_seq,
            max_seq: props.max_seq,
            entries: props.entries,
        }
    }

    /// `sst_{level}_{file_no:020}.sst`, the seed's naming, which lets `repair` rebuild levels
    /// from file names and properties alone.
    pub fn file_name(&self) -> String {
        sst_name(self.level, self.file_no)
    }
}

pub fn sst_name(level: u8, file_no: u64) -> String {
    format!("sst_{level}_{file_no:020}.sst")
}

pub fn parse_sst_name(name: &str) -> Option<(u8, u64)> {
    let rest = name.strip_prefix("sst_")?.strip_suffix(".sst")?;
    let (level, no) = rest.split_once('_')?;
    if no.len() != 20 || !no.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((level.parse().ok()?, no.parse().ok()?))
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionEdit {
    pub history_id: Option<[u8; 16]>,
    pub flushed_seq: Option<u64>,
    pub next_file_no: Option<u64>,
    pub last_seq: Option<u64>,
    pub added: Vec<FileMeta>,
    pub deleted: Vec<(u8, u64)>,
    pub cluster_state: Option<Vec<u8>>,
}

const TAG_HISTORY: u64 = 1;
const TAG_FLUSHED: u64 = 2;
const TAG_NEXT_FILE: u64 = 3;
const TAG_ADD: u64 = 4;
const TAG_DELETE: u64 = 5;
const TAG_LAST_SEQ: u64 = 6;
const TAG_CLUSTER_STATE: u64 = 7;

impl VersionEdit {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(h) = &self.history_id {
            put_varint(&mut out, TAG_HISTORY);
            out.extend_from_slice(h);
        }
        for (tag, v) in [
            (TAG_FLUSHED, self.flushed_seq),
            (TAG_NEXT_FILE, self.next_file_no),
            (TAG_LAST_SEQ, self.last_seq),
        ] {
            if let Some(v) = v {
                put_varint(&mut out, tag);
                put_varint(&mut out, v);
            }
        }
        for (level, no) in &self.deleted {
            put_varint(&mut out, TAG_DELETE);
            out.push(*level);
            put_varint(&mut out, *no);
        }
        for f in &self.added {
            put_varint(&mut out, TAG_ADD);
            out.push(f.level);
            put_varint(&mut out, f.file_no);
            put_varint(&mut out, f.size);
            put_bytes(&mut out, &f.smallest);
            put_bytes(&mut out, &f.largest);
            put_varint(&mut out, f.min_seq);
            put_varint(&mut out, f.max_seq);
            put_varint(&mut out, f.entries);
        }
        if let Some(state) = &self.cluster_state {
            put_varint(&mut out, TAG_CLUSTER_STATE);
            put_bytes(&mut out, state);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> std::result::Result<VersionEdit, String> {
        let mut c = Cursor::new(bytes);
        let mut e = VersionEdit::default();
        let cut = |what: &str| format!("version edit cut short in {what}");
        while c.remaining() > 0 {
            let tag = c.varint().ok_or_else(|| cut("a tag"))?;
            match tag {
                TAG_HISTORY => {
                    let h = c.take(16).ok_or_else(|| cut("the history id"))?;
                    e.history_id = Some(h.try_into().map_err(|_| cut("the history id"))?);
                }
                TAG_FLUSHED => e.flushed_seq = Some(c.varint().ok_or_else(|| cut("flushed seq"))?),
                TAG_NEXT_FILE => e.next_file_no = Some(c.varint().ok_or_else(|| cut("next file"))?),
                TAG_LAST_SEQ => e.last_seq = Some(c.varint().ok_or_else(|| cut("last seq"))?),
                TAG_DELETE => {
                    let level = c.u8().ok_or_else(|| cut("a deleted file"))?;
                    let no = c.varint().ok_or_else(|| cut("a deleted file"))?;
                    e.deleted.push((level, no));
                }
                TAG_ADD => {
                    let mut field = || cut("an added file");
                    let f = FileMeta {
                        level: c.u8().ok_or_else(&mut field)?,
                        file_no: c.varint().ok_or_else(&mut field)?,
                        size: c.varint().ok_or_else(&mut field)?,
                        smallest: c.bytes().ok_or_else(&mut field)?.to_vec(),
                        largest: c.bytes().ok_or_else(&mut field)?.to_vec(),
                        min_seq: c.varint().ok_or_else(&mut field)?,
                        max_seq: c.varint().ok_or_else(&mut field)?,
                        entries: c.varint().ok_or_else(&mut field)?,
                    };
                    e.added.push(f);
                }
                TAG_CLUSTER_STATE => {
                    let state = c.bytes().ok_or_else(|| cut("the cluster state"))?;
                    e.cluster_state = Some(state.to_vec());
                }
                other => return Err(format!("unknown version edit tag {other}")),
            }
        }
        Ok(e)
    }
}

/// The tree as the manifest describes it after applying every edit in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestState {
    pub history_id: [u8; 16],
    pub flushed_seq: u64,
    pub next_file_no: u64,
    pub last_seq: u64,
    /// Keyed by file number, which is unique across levels.
    pub files: BTreeMap<u64, FileMeta>,
    /// The newest edit's cluster state (cluster mode only).
    pub cluster_state: Option<Vec<u8>>,
}

impl ManifestState {
    pub fn apply(&mut self, edit: &VersionEdit) -> std::result::Result<(), String> {
        if let Some(h) = edit.history_id {
            self.history_id = h;
        }
        if let Some(s) = edit.flushed_seq {
            self.flushed_seq = self.flushed_seq.max(s);
        }
        if let Some(n) = edit.next_file_no {
            self.next_file_no = self.next_file_no.max(n);
        }
        if let Some(s) = edit.last_seq {
            self.last_seq = self.last_seq.max(s);
        }
        if let Some(c) = &edit.cluster_state {
            self.cluster_state = Some(c.clone());
        }
        for (level, no) in &edit.deleted {
            match self.files.get(no) {
                Some(f) if f.level == *level => {
                    self.files.remove(no);
                }
                _ => {
                    return Err(format!(
                        "edit deletes file {} which is not live",
                        sst_name(*level, *no)
                    ));
                }
            }
        }
        for f in &edit.added {
            if self.files.insert(f.file_no, f.clone()).is_some() {
                return Err(format!("edit adds file {} twice", f.file_name()));
            }
            self.next_file_no = self.next_file_no.max(f.file_no + 1);
        }
        Ok(())
    }

    /// One edit that recreates this state: the first record of a fresh manifest.
    pub fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            history_id: Some(self.history_id),
            flushed_seq: Some(self.flushed_seq),
            next_file_no: Some(self.next_file_no),
            last_seq: Some(self.last_seq),
            added: self.files.values().cloned().collect(),
            deleted: Vec::new(),
            cluster_state: self.cluster_state.clone(),
        }
    }
}

pub fn encode_record(edit: &VersionEdit, out: &mut Vec<u8>) {
    let payload = edit.encode();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&masked_crc(&[&payload]).to_le_bytes());
    out.extend_from_slice(&payload);
}

/// A decoded manifest: the edits in order with their offsets, and whether a torn final record
/// was ignored (offset of the tear).
#[derive(Debug, Clone, Default)]
pub struct ManifestLog {
    pub edits: Vec<(u64, VersionEdit)>,
    pub torn_tail_at: Option<u64>,
    /// Length of the valid prefix; appends continue from here.
    pub valid_len: u64,
}

pub fn decode(path: &Path, bytes: &[u8]) -> Result<ManifestLog> {
    envelope::decode(path, bytes, Kind::Manifest)?;
    let mut log = ManifestLog::default();
    let mut pos = envelope::LEN;
    log.valid_len = pos as u64;
    while pos < bytes.len() {
        let at = pos as u64;
        let mut c = Cursor::new(bytes.get(pos..).unwrap_or(&[]));
        let header = c.u32().zip(c.u32());
        let payload = header.and_then(|(len, _)| c.take(len as usize));
        let (Some((_, crc)), Some(payload)) = (header, payload) else {
            // Runs past the end of the file: the append was cut by a crash, unless an intact
            // record follows (a damaged length field made this one swallow the rest).
            if let Some(next) = intact_record_after(bytes, pos) {
                let claimed = header.map_or(String::new(), |(len, _)| format!(" {len} bytes"));
                return Err(Error::corruption(
                    path,
                    at,
                    format!(
                        "manifest record claims{claimed} past the end of the file, but an \
                         intact record follows at offset {next}: its length field is damaged"
                    ),
                )
                .with_hint(crate::error::REPAIR_HINT));
            }
            log.torn_tail_at = Some(at);
            return Ok(log);
        };
        let next = pos + 8 + payload.len();
        if masked_crc(&[payload]) != crc {
            if next >= bytes.len() {
                // The final record: a torn append, unless an intact record starts inside it.
                if let Some(next) = intact_record_after(bytes, pos) {
                    return Err(Error::corruption(
                        path,
                        at,
                        format!(
                            "manifest record checksum mismatch, and an intact record follows \
                             at offset {next}: damage, not a torn append"
                        ),
                    )
                    .with_hint(crate::error::REPAIR_HINT));
                }
                log.torn_tail_at = Some(at);
                return Ok(log);
            }
            return Err(Error::corruption(
                path,
                at,
                "manifest record checksum mismatch with more records after it",
            )
            .with_hint(crate::error::REPAIR_HINT));
        }
        let edit = VersionEdit::decode(payload).map_err(|what| {
            Error::corruption(path, at, what).with_hint(crate::error::REPAIR_HINT)
        })?;
        log.edits.push((at, edit));
        pos = next;
        log.valid_len = pos as u64;
    }
    Ok(log)
}

/// The first offset after `from` where a complete record with a matching checksum starts.
///
/// A crash cuts an append short and leaves nothing after the cut, so an intact record after a
/// record that runs past EOF (or fails its checksum at the end) means the bad record is damage,
/// typically in its length field. An empty payload never counts: the engine never writes an
/// empty edit, and 8 stray bytes could pose as one. Lengths that cannot fit are rejected
/// before any checksum is computed.
pub fn intact_record_after(bytes: &[u8], from: usize) -> Option<u64> {
    let mut p = from.checked_add(1)?;
    while p + 8 <= bytes.len() {
        let mut c = Cursor::new(&bytes[p..]);
        if let (Some(len), Some(crc)) = (c.u32(), c.u32())
            && len != 0
            && let Some(payload) = c.take(len as usize)
            && masked_crc(&[payload]) == crc
        {
            return Some(p as u64);
        }
        p += 1;
    }
    None
}

/// Replays a decoded log into the state it describes.
pub fn replay(path: &Path, log: &ManifestLog) -> Result<ManifestState> {
    let mut state = ManifestState::default();
    for (at, edit) in &log.edits {
        state.apply(edit).map_err(|what| {
            Error::corruption(path, *at, what).with_hint(crate::error::REPAIR_HINT)
        })?;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(level: u8, no: u64) -> FileMeta {
        FileMeta {
            level,
            file_no: no,
            size: 100 + no,
            smallest: vec![b'a', no as u8],
            largest: vec![b'z'],
            min_seq: no,
            max_seq: no * 10,
            entries: 5,
        }
    }

    fn arb_edit() -> impl Strategy<Value = VersionEdit> {
        (
            any::<Option<[u8; 16]>>(),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            prop::collection::vec(
                (
                    0u8..7,
                    any::<u64>(),
                    any::<u64>(),
                    any::<Vec<u8>>(),
                    any::<Vec<u8>>(),
                    any::<u64>(),
                    any::<u64>(),
                    any::<u64>(),
                ),
                0..5,
            ),
            prop::collection::vec((0u8..7, any::<u64>()), 0..5),
            any::<Option<Vec<u8>>>(),
        )
            .prop_map(
                |(
                    history_id,
                    flushed_seq,
                    next_file_no,
                    last_seq,
                    added,
                    deleted,
                    cluster_state,
                )| VersionEdit {
                    history_id,
                    flushed_seq,
                    next_file_no,
                    last_seq,
                    added: added
                        .into_iter()
                        .map(
                            |(
                                level,
                                file_no,
                                size,
                                smallest,
                                largest,
                                min_seq,
                                max_seq,
                                entries,
                            )| FileMeta {
                                level,
                                file_no,
                                size,
                                smallest,
                                largest,
                                min_seq,
                                max_seq,
                                entries,
                            },
                        )
                        .collect(),
                    deleted,
                    cluster_state,
                },
            )
    }

    proptest! {
        #[test]
        fn edit_round_trip(edit in arb_edit()) {
            prop_assert_eq!(VersionEdit::decode(&edit.encode()).unwrap(), edit);
        }

        #[test]
        fn decode_never_panics(bytes: Vec<u8>) {
            let _ = VersionEdit::decode(&bytes);
            let mut with_env = envelope::encode(Kind::Manifest).to_vec();
            with_env.extend_from_slice(&bytes);
            let _ = decode(Path::new("m"), &with_env);
        }
    }

    fn log_bytes(edits: &[VersionEdit]) -> Vec<u8> {
        let mut out = envelope::encode(Kind::Manifest).to_vec();
        for e in edits {
            encode_record(e, &mut out);
        }
        out
    }

    #[test]
    fn replay_applies_adds_and_deletes() {
        let edits = vec![
            VersionEdit {
                history_id: Some([7; 16]),
                added: vec![file(0, 1), file(0, 2)],
                flushed_seq: Some(10),
                ..Default::default()
            },
            VersionEdit {
                added: vec![file(1, 3)],
                deleted: vec![(0, 1), (0, 2)],
                ..Default::default()
            },
        ];
        let bytes = log_bytes(&edits);
        let log = decode(Path::new("m"), &bytes).unwrap();
        let st = replay(Path::new("m"), &log).unwrap();
        assert_eq!(st.files.keys().copied().collect::<Vec<_>>(), vec![3]);
        assert_eq!(st.flushed_seq, 10);
        assert_eq!(st.next_file_no, 4);
        assert_eq!(st.history_id, [7; 16]);
        // A snapshot edit rebuilds the same state.
        let mut again = ManifestState::default();
        again.apply(&st.snapshot_edit()).unwrap();
        assert_eq!(again, st);
    }

    #[test]
    fn torn_tail_is_ignored_but_middle_damage_is_refused() {
        let edits = vec![
            VersionEdit {
                added: vec![file(0, 1)],
                ..Default::default()
            },
            VersionEdit {
                added: vec![file(0, 2)],
                ..Default::default()
            },
        ];
        let bytes = log_bytes(&edits);
        for cut in envelope::LEN..bytes.len() {
            let log = decode(Path::new("m"), &bytes[..cut]).unwrap();
            assert!(log.edits.len() < 2);
        }
        let mut mid = bytes.clone();
        mid[envelope::LEN + 9] ^= 1;
        let err = decode(Path::new("m"), &mid).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("offset {}", envelope::LEN)),
            "{err}"
        );
        let mut last = bytes.clone();
        let n = last.len();
        last[n - 1] ^= 1;
        assert_eq!(decode(Path::new("m"), &last).unwrap().edits.len(), 1);
    }

    fn four_records() -> (Vec<u8>, Vec<u64>) {
        let edits: Vec<VersionEdit> = (1..=4)
            .map(|no| VersionEdit {
                added: vec![file(0, no)],
                flushed_seq: Some(no * 10),
                ..Default::default()
            })
            .collect();
        let bytes = log_bytes(&edits);
        let starts = decode(Path::new("m"), &bytes)
            .unwrap()
            .edits
            .iter()
            .map(|(at, _)| *at)
            .collect();
        (bytes, starts)
    }

    /// A damaged length field in a middle record made it run past EOF (or end exactly at it
    /// with a bad checksum), which decode took for a torn append: it silently dropped that
    /// record and every later one.
    #[test]
    fn flipped_length_of_a_middle_record_is_corruption_at_that_record() {
        let (bytes, starts) = four_records();
        for &at in &starts[..3] {
            for byte in 0..4 {
                for mask in [0x01u8, 0x02, 0x10, 0x40, 0x80, 0xff] {
                    let mut bad = bytes.clone();
                    bad[at as usize + byte] ^= mask;
                    match decode(Path::new("m"), &bad) {
                        Err(Error::Corruption { offset, hint, .. }) => {
                            assert_eq!(offset, at, "record {at} byte {byte} ^ {mask:#x}");
                            assert_eq!(hint, crate::error::REPAIR_HINT);
                        }
                        other => {
                            panic!("record {at} byte {byte} ^ {mask:#x}: {other:?}")
                        }
                    }
                }
            }
        }
        // The length made to end exactly at EOF: a complete "final" record with a bad
        // checksum, and intact records inside it.
        let mut bad = bytes.clone();
        let at = starts[1] as usize;
        let to_eof = (bytes.len() - at - 8) as u32;
        bad[at..at + 4].copy_from_slice(&to_eof.to_le_bytes());
        let err = decode(Path::new("m"), &bad).unwrap_err();
        assert!(
            matches!(err, Error::Corruption { offset, .. } if offset == starts[1] ),
            "{err}"
        );
    }

    #[test]
    fn every_truncation_of_the_last_record_is_a_torn_tail() {
        let (bytes, starts) = four_records();
        let last = *starts.last().unwrap();
        for cut in last as usize + 1..bytes.len() {
            let log = decode(Path::new("m"), &bytes[..cut]).unwrap();
            assert_eq!(log.torn_tail_at, Some(last), "cut at {cut}");
            assert_eq!(log.edits.len(), 3, "cut at {cut}");
            assert_eq!(log.valid_len, last, "cut at {cut}");
        }
        // Garbage appended after the last record: a torn append too.
        for tail in [vec![0xab; 100], vec![0xff, 0, 0, 0, 1, 2], vec![0, 0, 0]] {
            let mut b = bytes.clone();
            b.extend_from_slice(&tail);
            let log = decode(Path::new("m"), &b).unwrap();
            assert_eq!(log.torn_tail_at, Some(bytes.len() as u64));
            assert_eq!(log.edits.len(), 4);
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!(parse_manifest_name(&manifest_name(12)), Some(12));
        assert_eq!(parse_sst_name(&sst_name(3, 99)), Some((3, 99)));
        assert_eq!(parse_sst_name("sst_3_99.sst"), None);
    }
}
