#!/usr/bin/env python3
"""Regenerates docs/formats.md from the layout drawn at the top of each format's source file:
src/format/*.rs for the data dir, and the backup repository's files in src/backup/.

The drawings live in the code (next to the codec that must match them); this page collects
them. A unit test (format::tests::formats_doc_is_fresh) fails when the page is stale.
"""
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
order = [f"format/{n}" for n in
         ["envelope", "wal", "entry", "record", "sst", "manifest", "current", "snapshot", "archive_status",
          "raft_state", "leader_contact"]]
# The backup repository (drkit backup / wal archive / restore).
order += [f"backup/{n}" for n in ["repo", "sealed", "manifest", "codec", "copy", "archive",
                                   "store/lock", "store/s3"]]
# Cluster mode (drkit serve --node-id): the Raft snapshot a lagging node receives.
order += ["cluster/snapshot"]
out = [
    "# On-disk formats",
    "",
    "Generated from the module docs of `src/format/*.rs` (the data dir) and of the backup",
    "repository's files in `src/backup/` by `python3 docs/gen-formats.py`;",
    "edit the code, then regenerate. All integers are little endian. crc32c values are masked",
    "as in LevelDB (`rotr(crc, 15) + 0xa282ead8`).",
    "",
    "Data dir layout:",
    "",
    "```text",
    "DIR/LOCK                          flock held by the engine or a writing tool; holds its PID",
    "DIR/CURRENT                       names the live manifest (current.rs)",
    "DIR/MANIFEST-NNNNNN               version edits (manifest.rs)",
    "DIR/wal/{first seq:020}.wal       WAL segments (wal.rs, entry.rs)",
    "DIR/sst/sst_{level}_{no:020}.sst  SSTables (sst/)",
    "DIR/snapshots/snapshot_{seq:020}.snap  memtable images for fast recovery (snapshot.rs)",
    "DIR/ARCHIVE_STATUS                what `drkit wal archive` has archived; the engine keeps the rest (archive_status.rs)",
    "DIR/lost/                         bytes recovery or repair set aside; never deleted by drkit",
    "DIR/raft/state                    cluster mode: node id, cluster id, vote, committed and purged log ids (raft_state.rs)",
    "DIR/raft/leader-contact           cluster mode: when the node last knew itself current with its leader (leader_contact.rs)",
    "DIR/raft/snapshots/*.snap         cluster mode: the newest Raft snapshot, sent to nodes that lag (cluster/snapshot.rs)",
    "DIR/raft/FORCE-NEW                cluster mode: the new cluster id of an unfinished `cluster force-new`; the node will not start",
    "                                  while it exists (cluster/force_new.rs)",
    "```",
    "",
]
for name in order:
    # A format grown into a folder keeps its drawing in the folder's mod.rs.
    path = root / "src" / f"{name}.rs"
    if not path.exists():
        path = root / "src" / name / "mod.rs"
    src = path.read_text()
    doc = []
    for line in src.splitlines():
        if line.startswith("//!"):
            doc.append(line[4:] if line.startswith("//! ") else line[3:])
        elif doc:
            break
    # Data dir formats keep their short headings; repository ones say where they live.
    heading = name.removeprefix("format/")
    out.append(f"## {heading}.rs")
    out.append("")
    out.extend(doc)
    out.append("")
(root / "docs" / "formats.md").write_text("\n".join(out))
