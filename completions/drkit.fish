# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_drkit_global_optspecs
    string join \n v/verbose q/quiet h/help V/version
end

function __fish_drkit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_drkit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_drkit_using_subcommand
    set -l cmd (__fish_drkit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c drkit -n "__fish_drkit_needs_command" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_needs_command" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c drkit -n "__fish_drkit_needs_command" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "recover" -d 'Recover a data dir after a crash: replay the WAL after the checkpoint, report damage'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "get" -d 'Read one record from a stopped or crashed data dir (changes nothing)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "scan" -d 'List records of a stopped or crashed data dir by prefix or range (changes nothing)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "snapshot" -d 'Snapshots of the memtables for fast recovery: create, list, prune'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "repair" -d 'Rebuild a lost or damaged manifest from the SSTs (prints the plan; --apply carries it out)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "compact" -d 'Offline compaction: every level into the deepest, or --level N into N+1, in parallel'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "inspect" -d 'Look inside a data dir\'s files without changing them: WAL entries, SSTables, the manifest, or the dir as a whole'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "verify" -d 'Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "doctor" -d 'Whether the data can be recovered right now, and to what point: the data dir, its backups and WAL archive in one verdict, for people and monitoring; writes nothing'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "demo" -d 'Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "backup" -d 'Backups of a stopped data dir into a repository: init, create, list, info, verify'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "restore" -d 'Restore a backup into a new or empty dir (checked file by file and as a whole), or to a point in time with --to-seq/--to-time (archived WAL replayed after the backup)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "wal" -d 'WAL archiving for point-in-time restore'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "serve" -d 'Run the engine behind a Redis-protocol (RESP) server: redis-cli and Redis clients work'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "status" -d 'Role, uptime, sequences, clients, ops/s and levels of a running server (from INFO)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "cluster" -d 'Cluster membership and health over a node\'s --raft-listen address: init, status, add-learner, promote, remove'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "replicate" -d 'Run a cluster node that joins through --join as a learner: an asynchronous, read-only replica (the two-machine setup is one voter plus learners)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "bench" -d 'Measure write and recovery throughput (db_bench-like)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "crash-writer" -d 'Child process of `demo` and the crash tests: writes a seeded workload, printing each acknowledged sequence'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -l mode -d 'What to do about damage in the WAL' -r -f -a "tolerate-tail\t'A torn, unsynced tail of the last segment is cut off (it was never acknowledged under sync=always); any other damage refuses to open'
absolute\t'Any damage at all, a torn tail included, refuses to open'
point-in-time\t'Stop at the first damage: keep everything before it, move the rest to lost/'
skip-corrupted\t'Skip damaged spans, move them to lost/, keep every readable entry after them'"
complete -c drkit -n "__fish_drkit_using_subcommand recover" -l memory-budget -d 'Replayed data held in memory, like 4GiB; past it the oldest is written to L0 tables while replay goes on, so a WAL larger than RAM recovers. Default: a quarter of RAM' -r
complete -c drkit -n "__fish_drkit_using_subcommand recover" -l dry-run -d 'Analyse and report; change nothing'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -l json -d 'Print the report as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand get" -l json -d 'Print the record as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand get" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand get" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand get" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand get" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand scan" -l prefix -d 'Only keys starting with this (same syntax as keys: `order:`, `account:user-1`, `foo`, `0x…`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand scan" -l from -d 'First key (inclusive)' -r
complete -c drkit -n "__fish_drkit_using_subcommand scan" -l to -d 'Last key (exclusive)' -r
complete -c drkit -n "__fish_drkit_using_subcommand scan" -l limit -d 'At most this many records; 0 for all' -r
complete -c drkit -n "__fish_drkit_using_subcommand scan" -l json -d 'JSON Lines: one record per line, then a summary line'
complete -c drkit -n "__fish_drkit_using_subcommand scan" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand scan" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand scan" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand scan" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -f -a "create" -d 'Recover the dir if needed, then write a snapshot of everything above the checkpoint, so the next recovery replays only the WAL after it'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -f -a "list" -d 'List snapshots with their sequence, checkpoint and health (changes nothing)'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -f -a "prune" -d 'Remove snapshots beyond the newest --keep and those the checkpoint has overtaken'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and not __fish_seen_subcommand_from create list prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from create" -l json
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from list" -l json
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from prune" -l keep -d 'Usable snapshots to keep, newest first' -r
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from prune" -l dry-run -d 'Show what would be removed; remove nothing'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from prune" -l json
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from help" -f -a "create" -d 'Recover the dir if needed, then write a snapshot of everything above the checkpoint, so the next recovery replays only the WAL after it'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from help" -f -a "list" -d 'List snapshots with their sequence, checkpoint and health (changes nothing)'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove snapshots beyond the newest --keep and those the checkpoint has overtaken'
complete -c drkit -n "__fish_drkit_using_subcommand snapshot; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand repair" -l apply -d 'Carry the plan out. Without it, print the plan and change nothing'
complete -c drkit -n "__fish_drkit_using_subcommand repair" -l json -d 'Print the plan or report as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand repair" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand repair" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand repair" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand repair" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand compact" -l level -d 'Compact only this level into the next one; default: every level into the deepest' -r
complete -c drkit -n "__fish_drkit_using_subcommand compact" -l sst-compression -d 'How the rewritten tables store data blocks: zstd, zstd:LEVEL or none. Every table compacted is rewritten in the current format (version 2)' -r
complete -c drkit -n "__fish_drkit_using_subcommand compact" -l threads -d 'Key ranges merged at once; default: the number of cores' -r
complete -c drkit -n "__fish_drkit_using_subcommand compact" -l json -d 'Print the report as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand compact" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand compact" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand compact" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand compact" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -f -a "wal" -d 'Dump WAL entries (one row per entry, damage inline, in log order) and say how the log ends: clean, torn tail, damage or a missing segment, with file and offset'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -f -a "sst" -d 'Show an SSTable\'s properties, and with --keys / --blocks its entries and blocks'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -f -a "manifest" -d 'List every version edit of the manifest (files added and deleted, checkpoint) and where CURRENT points. A torn final record (a crash during an append) is noted, not an error'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -f -a "dir" -d 'Summarise a data dir: files and bytes per level, WAL segments and how the log ends, snapshots, checkpoint, history id and an estimate of space amplification'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and not __fish_seen_subcommand_from wal sst manifest dir help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l from-seq -d 'Only entries with sequence >= SEQ' -r
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l to-seq -d 'Only entries with sequence <= SEQ' -r
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l since -d 'Only entries written at or after TIME (RFC 3339, e.g. 2024-05-01T12:00:00Z)' -r
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l until -d 'Only entries written at or before TIME (RFC 3339)' -r
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l type -d 'Only entries of these types (repeat the flag or give a comma list)' -r -f -a "order\t''
trade\t''
account\t''
put\t''
delete\t''
checkpoint\t''
seal\t''"
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l key-prefix -d 'Only entries whose key starts with P: `order:ID`, `trade:ID`, `account:ID`, `raw:HEX` (any internal key), `0xHEX` or text (a plain key). `order:` alone matches every order' -r
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l limit -d 'Show at most N entries (the whole log is still read for the summary)' -r
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l hex -d 'Add each entry\'s raw bytes in hex, and with --json its stored key and value (`key_hex`, `value_hex`), e.g. to load the same entries into another store'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -l json -d 'JSON Lines: one object per entry ("entry") or problem ("damage"), then a "summary"'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from wal" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from sst" -l keys -d 'Dump every entry, typed (key, sequence, value or tombstone, summary)'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from sst" -l blocks -d 'List every block: kind, offset, size, checksum, entries'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from sst" -l json -d 'JSON Lines: properties, blocks, entries, then a summary'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from sst" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from sst" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from sst" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from sst" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from manifest" -l json -d 'JSON Lines: one object per edit, then a summary'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from manifest" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from manifest" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from manifest" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from manifest" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from dir" -l json -d 'One JSON object (type "summary") with the whole report'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from dir" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from dir" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from dir" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from dir" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "wal" -d 'Dump WAL entries (one row per entry, damage inline, in log order) and say how the log ends: clean, torn tail, damage or a missing segment, with file and offset'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "sst" -d 'Show an SSTable\'s properties, and with --keys / --blocks its entries and blocks'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "manifest" -d 'List every version edit of the manifest (files added and deleted, checkpoint) and where CURRENT points. A torn final record (a crash during an append) is noted, not an error'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "dir" -d 'Summarise a data dir: files and bytes per level, WAL segments and how the log ends, snapshots, checkpoint, history id and an estimate of space amplification'
complete -c drkit -n "__fish_drkit_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -l json -d 'Print JSON lines: one `finding` per problem, then a `summary`'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l data -d 'The data dir: a running engine\'s, a stopped or crashed one, or a cluster node\'s. Nothing in it is written and its lock is not taken' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l repo -d 'The backup repository holding the dir\'s backups and WAL archive: a local dir, or s3://BUCKET[/PREFIX]. Nothing in it is written and its locks are not taken' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l max-rpo -d 'Warn when the data dir\'s newest entry is more than this past the newest one the repository can restore (the loss if the machine died now), like 5m' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l full-every -d 'Warn when the newest full backup is older than this' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l incr-every -d 'Warn when no backup (incremental or full) is newer than this' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l prometheus -d 'Also write the verdict as metrics for node_exporter\'s textfile collector, replacing FILE atomically' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l now -d 'Measure ages as of this RFC 3339 time instead of now (tests, post-mortems)' -r
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l deep -d 'Read every byte of the data dir and check every checksum (as `verify`); by default only headers, table footers and the log\'s end are read'
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -l json -d 'Print one JSON document: the sections, the window, the RPO and the findings'
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l dir -d 'Where to build the data dir (kept afterwards). Default: a temporary dir, removed at the end' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l records -d 'Exchange records written before the crash phase' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l seed -d 'Seed of the workload generator' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l writes -d 'With --cluster: writes before the kill, and again after it. With --cluster-dr: writes in each of its five batches' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l repo -d 'The repository the backup step uses: a new dir or an empty s3://BUCKET/PREFIX. Default: a dir beside the data dir' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l cluster -d 'Replication and failover instead: three `serve --node-id` processes on loopback, SIGKILL of the leader, the election, the old leader back as a follower, and every acknowledged write checked on every node'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l cluster-dr -d 'Disaster recovery of a cluster instead: three nodes, `wal archive --follow` on a follower, a full and an incremental backup on different nodes, the leader killed, a fat-finger DEL replicated everywhere, every dir deleted, and a new three-node cluster restored to just before the DEL, checked key by key on every node'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l json -d 'Print the report as one JSON line (the step lines are left out)'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "init" -d 'Create a backup repository (also created by the first `backup create`)'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "create" -d 'Take a full or incremental backup of a data dir, stopped or held by a running engine'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "list" -d 'List the complete backups in a repository'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "info" -d 'Show one backup: times, sequences, sizes, files'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "verify" -d 'Re-read every file of one or all backups against its blake3; exit 4 on any damage'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "expire" -d 'Remove backups the retention policy no longer keeps (never one a kept backup needs)'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "unlock" -d 'Break the locks of a repository whose holder is gone (a machine that died during a backup to object storage). A local repository\'s locks go with their process and are never broken: this reports who holds them'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and not __fish_seen_subcommand_from init create list info verify expire unlock help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -l json
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l data -d 'The data dir to back up. When a running engine holds it, the backup is taken from a consistent point (hard links inside DIR/backup-points/) without stopping the engine' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l type -r -f -a "full\t'Every file of the dir'
incr\t'Only what the newest backup of the same dir history does not hold (new tables, the WAL since); taken as full when there is no such backup'"
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l threads -d 'Files compressed in parallel (default: the number of CPUs)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l compress-level -d 'zstd level, 1 (fastest) to 22 (smallest)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l lock-wait -d 'Wait this long for another run\'s repository lock (`30s`, `5m`, `1h`) instead of failing at once with exit 11' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l logical-digest -d 'Also record the count and a blake3 digest of every live record, which restore then checks the restored dir against. Reads and decompresses every table: on compressed exchange records it costs more than the copy itself. Without it, every table\'s block checksums are checked as it is copied and every file\'s blake3 on restore'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -l json
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -l json
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -l json
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from info" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l threads -d 'Files checked in parallel (default: the number of CPUs)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l restore-test -d 'Also restore each backup into a temp dir and compare the logical digest'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -l json
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l keep-full -d 'Full backups to keep, newest first (at least 1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l keep-incr-days -d 'Keep incremental backups younger than this many days (while their full backup is kept)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l keep-wal-days -d 'Keep archived WAL younger than this many days, and what replaying it needs' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l now -d 'Judge ages as of this time (RFC 3339) instead of now: for retention drills' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l lock-wait -d 'Wait this long for a running backup, restore or verify instead of failing with exit 11' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l dry-run -d 'Show what would be removed; change nothing'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -l json
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from expire" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -l json
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from unlock" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create a backup repository (also created by the first `backup create`)'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "create" -d 'Take a full or incremental backup of a data dir, stopped or held by a running engine'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the complete backups in a repository'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "info" -d 'Show one backup: times, sequences, sizes, files'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Re-read every file of one or all backups against its blake3; exit 4 on any damage'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "expire" -d 'Remove backups the retention policy no longer keeps (never one a kept backup needs)'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "unlock" -d 'Break the locks of a repository whose holder is gone (a machine that died during a backup to object storage). A local repository\'s locks go with their process and are never broken: this reports who holds them'
complete -c drkit -n "__fish_drkit_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l target -d 'Where to restore; must be new or empty unless --force' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l backup -d 'The backup to restore (default: the newest backup, full or incremental; with --to-seq/--to-time, the newest backup at or before the target)' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l to-seq -d 'Point in time by sequence: keep every entry with sequence ≤ N, replaying archived WAL after the backup. Exit 12 when the repository cannot reach it' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l to-time -d 'Point in time by commit time (RFC 3339, e.g. 2026-11-25T17:00:00Z): keep every entry before the first one committed after it. Exit 12 when the repository cannot reach it' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l node-id -d 'Restore as this node of a new cluster (with --members): `serve --node-id N` starts it, and the nodes restored alike elect a leader without `cluster init`' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l members -d 'The new cluster\'s voters, the same list for every node: ID=RAFT_ADDR[/CLIENT_ADDR],...' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l cluster-token -d 'Mixed into the new cluster\'s id, the same for every node: restoring one backup to one point with the same members twice (a rehearsal beside production) gives two clusters that never take each other\'s nodes or share an archive history' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l threads -d 'Files decompressed in parallel (default: the number of CPUs)' -r
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l dry-run -d 'Print the plan; change nothing'
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l force -d 'Restore over a non-empty target: its content is moved aside to TARGET.drkit-old-<time>, never deleted'
complete -c drkit -n "__fish_drkit_using_subcommand restore" -l json
complete -c drkit -n "__fish_drkit_using_subcommand restore" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand restore" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand restore" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand restore" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and not __fish_seen_subcommand_from archive help" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and not __fish_seen_subcommand_from archive help" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and not __fish_seen_subcommand_from archive help" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and not __fish_seen_subcommand_from archive help" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and not __fish_seen_subcommand_from archive help" -f -a "archive" -d 'Copy the WAL into a backup repository for point-in-time restore: every closed segment, and the growing one up to its last complete entry, so a run from cron every N minutes loses at most N minutes of writes. The first run turns on the engine\'s hold: from then on it keeps every segment until it is archived (DIR/ARCHIVE_STATUS; --disable turns it off)'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and not __fish_seen_subcommand_from archive help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l repo -d 'The repository: a local dir, or s3://BUCKET[/PREFIX] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l data -d 'The data dir; may be in use by a running engine (no lock is taken on it)' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l poll -d 'How often --follow looks for new WAL (`500ms`, `1s`, `5s`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l compress-level -d 'zstd level, 1 (fastest) to 22 (smallest)' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l lock-wait -d 'Wait this long for another archiver of the same history instead of failing at once with exit 11' -r
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l follow -d 'Keep running: look again every --poll until SIGTERM or SIGINT (then exit 0). Silent but for errors and gap warnings unless -v'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l disable -d 'Turn archiving off for the data dir: remove DIR/ARCHIVE_STATUS, so the engine deletes flushed segments again without waiting for the archive'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -l json
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from archive" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from help" -f -a "archive" -d 'Copy the WAL into a backup repository for point-in-time restore: every closed segment, and the growing one up to its last complete entry, so a run from cron every N minutes loses at most N minutes of writes. The first run turns on the engine\'s hold: from then on it keeps every segment until it is archived (DIR/ARCHIVE_STATUS; --disable turns it off)'
complete -c drkit -n "__fish_drkit_using_subcommand wal; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l data -d 'The data dir (created if missing); locked while the server runs' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l log-format -d 'Log lines on stderr: `text` for people, `json` (one object per line) for log shippers. Filter with RUST_LOG (default: info, and openraft\'s errors)' -r -f -a "text\t''
json\t''"
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l listen -d 'Address for RESP clients (redis-cli -p, any Redis client). Port 0 picks a free port (printed at start)' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l sync -d 'When a write is acknowledged: `always` (fsync first, shared by concurrent writers), `interval:MS` (fsync every MS ms; a crash loses at most that), `never`' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l metrics -d 'Serve Prometheus text metrics over HTTP on this address (GET /metrics)' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l snapshot-interval -d 'Write a memtable snapshot this often (30s, 5m, 1h) so restarts replay less WAL' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l max-clients -d 'Most clients connected at once; more are refused with an error' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l idle-timeout -d 'Close a client that sent nothing for this long (30s, 5m); 0 never does' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l max-bulk-len -d 'Largest bulk string (key or value) accepted in a request, in bytes' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l sst-compression -d 'How new SSTables store data blocks: zstd, zstd:LEVEL (1 fastest .. 22 smallest) or none. Tables already written keep theirs until compaction rewrites them' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l block-cache-mb -d 'Decompressed SST blocks kept in memory for reads, in MiB; 0 decompresses on every read' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l memory-budget -d 'Replayed data recovery holds in memory when the node starts, like 4GiB; past it the oldest is written to L0 tables while replay goes on. Default: a quarter of RAM' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l requirepass-file -d 'Read the AUTH password from this file (first line). Without it, the DRKIT_REQUIREPASS environment variable is used if set. Never given on the command line, which `ps` shows' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l node-id -d 'Cluster mode: this node\'s id (1 or more, unique in the cluster). Writes then go through the Raft log and are acknowledged once a majority of voters holds them' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l raft-listen -d 'Cluster mode: where peers and `drkit cluster` reach this node' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l cluster-secret-file -d 'Cluster mode: the shared secret (first line of the file) every node and admin proves on connect. Never on the command line' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l timing -d 'Cluster mode: heartbeat and election timing. `default`: heartbeat 500 ms, election timeout 1.5-2 s. `fast`: 50 ms and 0.3-0.6 s, for tests on one machine' -r -f -a "default\t''
fast\t''"
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l raft-route -d 'Cluster mode: dial ADDR to reach node ID instead of the raft address the membership names (a NAT, a port forward or a proxy in between). Repeatable' -r
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l no-protected-mode -d 'Serve clients from any address even without a password (default: only loopback clients are served when no password is set)'
complete -c drkit -n "__fish_drkit_using_subcommand serve" -l json -d 'Print the start and stop lines as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand serve" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand serve" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand serve" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand serve" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand status" -l addr -d 'Address of a running `drkit serve`' -r
complete -c drkit -n "__fish_drkit_using_subcommand status" -l requirepass-file -d 'Password file for a server that requires AUTH (else DRKIT_REQUIREPASS is used)' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand status" -l timeout -d 'Give up connecting or reading after this long' -r
complete -c drkit -n "__fish_drkit_using_subcommand status" -l json -d 'Print the status as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand status" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand status" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand status" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand status" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -f -a "init" -d 'Make the given nodes the voters of a new cluster (run once, on any of them)'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -f -a "status" -d 'Every node\'s role, term, leader, log and replication progress, as one node sees it'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -f -a "add-learner" -d 'Add a running node as a learner (an asynchronous read replica); waits until it has caught up'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -f -a "promote" -d 'Make a learner a voter'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -f -a "force-new" -d 'After a lost quorum: make a stopped survivor\'s committed state a one-voter cluster under a new cluster id (uncommitted entries go to DIR/lost/)'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -f -a "remove" -d 'Remove a node from the voters (and the cluster)'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and not __fish_seen_subcommand_from init status add-learner promote force-new remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -l addr -d 'A node\'s --raft-listen address' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -l cluster-secret-file -d 'The cluster secret (first line of the file), as the nodes were given it' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -l timeout -d 'Give up after this long (adding a learner waits for it to catch up)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -l members -d 'The voters: ID=RAFT_ADDR,... (each node must be running with that --node-id)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -l addr -d 'A node\'s --raft-listen address' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -l cluster-secret-file -d 'The cluster secret (first line of the file), as the nodes were given it' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -l timeout -d 'Give up after this long (adding a learner waits for it to catch up)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -l json
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -l addr -d 'A node\'s --raft-listen address' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -l cluster-secret-file -d 'The cluster secret (first line of the file), as the nodes were given it' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -l timeout -d 'Give up after this long (adding a learner waits for it to catch up)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -l id -d 'The learner\'s --node-id' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -l node-addr -d 'The learner\'s --raft-listen address' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from add-learner" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -l addr -d 'A node\'s --raft-listen address' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -l cluster-secret-file -d 'The cluster secret (first line of the file), as the nodes were given it' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -l timeout -d 'Give up after this long (adding a learner waits for it to catch up)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -l id -d 'The learner\'s --node-id' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from promote" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -l data -d 'The survivor\'s data dir (the node stopped)' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -l node-id -d 'The survivor\'s node id (it keeps it)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -l raft-addr -d 'Its --raft-listen address, when the membership it recorded does not name it (or it moves)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -l client-addr -d 'Its client address, named in `-MOVED` replies' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -l json
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from force-new" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l addr -d 'A node\'s --raft-listen address' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l cluster-secret-file -d 'The cluster secret (first line of the file), as the nodes were given it' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l timeout -d 'Give up after this long (adding a learner waits for it to catch up)' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l id -d 'The voter\'s --node-id' -r
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "init" -d 'Make the given nodes the voters of a new cluster (run once, on any of them)'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "status" -d 'Every node\'s role, term, leader, log and replication progress, as one node sees it'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "add-learner" -d 'Add a running node as a learner (an asynchronous read replica); waits until it has caught up'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "promote" -d 'Make a learner a voter'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "force-new" -d 'After a lost quorum: make a stopped survivor\'s committed state a one-voter cluster under a new cluster id (uncommitted entries go to DIR/lost/)'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a node from the voters (and the cluster)'
complete -c drkit -n "__fish_drkit_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l join -d 'A member\'s --raft-listen address; the request follows it to the leader' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l data -d 'The data dir (created if missing); locked while the server runs' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l log-format -d 'Log lines on stderr: `text` for people, `json` (one object per line) for log shippers. Filter with RUST_LOG (default: info, and openraft\'s errors)' -r -f -a "text\t''
json\t''"
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l listen -d 'Address for RESP clients (redis-cli -p, any Redis client). Port 0 picks a free port (printed at start)' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l sync -d 'When a write is acknowledged: `always` (fsync first, shared by concurrent writers), `interval:MS` (fsync every MS ms; a crash loses at most that), `never`' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l metrics -d 'Serve Prometheus text metrics over HTTP on this address (GET /metrics)' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l snapshot-interval -d 'Write a memtable snapshot this often (30s, 5m, 1h) so restarts replay less WAL' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l max-clients -d 'Most clients connected at once; more are refused with an error' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l idle-timeout -d 'Close a client that sent nothing for this long (30s, 5m); 0 never does' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l max-bulk-len -d 'Largest bulk string (key or value) accepted in a request, in bytes' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l sst-compression -d 'How new SSTables store data blocks: zstd, zstd:LEVEL (1 fastest .. 22 smallest) or none. Tables already written keep theirs until compaction rewrites them' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l block-cache-mb -d 'Decompressed SST blocks kept in memory for reads, in MiB; 0 decompresses on every read' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l memory-budget -d 'Replayed data recovery holds in memory when the node starts, like 4GiB; past it the oldest is written to L0 tables while replay goes on. Default: a quarter of RAM' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l requirepass-file -d 'Read the AUTH password from this file (first line). Without it, the DRKIT_REQUIREPASS environment variable is used if set. Never given on the command line, which `ps` shows' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l node-id -d 'Cluster mode: this node\'s id (1 or more, unique in the cluster). Writes then go through the Raft log and are acknowledged once a majority of voters holds them' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l raft-listen -d 'Cluster mode: where peers and `drkit cluster` reach this node' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l cluster-secret-file -d 'Cluster mode: the shared secret (first line of the file) every node and admin proves on connect. Never on the command line' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l timing -d 'Cluster mode: heartbeat and election timing. `default`: heartbeat 500 ms, election timeout 1.5-2 s. `fast`: 50 ms and 0.3-0.6 s, for tests on one machine' -r -f -a "default\t''
fast\t''"
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l raft-route -d 'Cluster mode: dial ADDR to reach node ID instead of the raft address the membership names (a NAT, a port forward or a proxy in between). Repeatable' -r
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l no-protected-mode -d 'Serve clients from any address even without a password (default: only loopback clients are served when no password is set)'
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -l json -d 'Print the start and stop lines as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand replicate" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -f -a "write" -d 'Write throughput and latency (group commit across --writers threads)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -f -a "recover" -d 'Recovery speed: build a WAL, then time its replay'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -f -a "read" -d 'Read cost over compacted tables: random gets, one full scan, and the bytes on disk. Run once per --sst-compression on the same seed to compare'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -f -a "backup" -d 'Backup throughput (MB/s, compression ratio) over a data dir of SSTs it builds or reuses'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -f -a "restore" -d 'Restore throughput from a repository it fills or reuses'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -f -a "cluster" -d 'Three in-process nodes on loopback: write throughput and latency against one node with --sync always, replication lag at target rates, and failover times'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover read backup restore cluster help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l dir -d 'Keep the data here for inspection; default: a temporary dir, removed afterwards' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l records -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l value-size -d 'Plain key/values of this many bytes; 0 writes exchange records (orders, trades, accounts)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l writers -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l sync -d 'always | interval:MS | never' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l keyspace -d 'With --value-size: cycle over this many keys, so later writes overwrite earlier ones' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l dir -d 'Keep the data here; with an existing data dir and --records 0, recover that one' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l records -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l value-size -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l memory-budget -d 'Replayed data held in memory during recovery, like 2GiB (as `recover --memory-budget`). Default: a quarter of RAM' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l build-only -d 'Only build the WAL in --dir and stop, to recover it later (`drkit recover DIR`, or `bench recover --dir DIR --records 0` on a copy)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l snapshot -d 'Snapshot after the records, then write a tail of a tenth as many: measures recovery from a snapshot (compare with the same run without it)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l dir -d 'Build the data dir here and keep it; default: a temporary dir, removed afterwards' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l records -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l value-size -d 'Plain key/values of this many bytes; 0 writes exchange records (orders, trades, accounts)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l sst-compression -d 'How the tables store data blocks: none, zstd or zstd:LEVEL' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l block-cache-mb -d 'Decompressed blocks kept in memory, in MiB (0: none), as `serve --block-cache-mb`' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l gets -d 'Point gets of present keys, timed one by one' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from read" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l data -d 'The data dir: reused when it holds one, else built there and kept. Default: a temporary dir, removed afterwards' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l repo -d 'The repository, a dir or s3://BUCKET/PREFIX: `restore` restores its newest backup (taking one first if it has none); `backup` adds one. Default: a temporary dir, removed afterwards' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l size-mb -d 'SST megabytes (10^6 bytes) to build when the data dir is built' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l value-size -d 'Plain key/values with random (incompressible) values of this many bytes; 0 builds exchange records (orders, trades, accounts)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l threads -d 'Files in parallel (default: the number of CPUs); each file\'s blocks use every CPU' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l compress-level -d 'zstd level, 1 (fastest) to 22 (smallest)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l cluster-nodes -d '`restore` only: also restore the backup as each of N nodes of a new cluster (`restore --node-id --members`), one at a time as on N machines, beside a standalone restore of it; pairs alternate their order and medians are reported' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l pairs -d 'With --cluster-nodes: pairs of (standalone, N nodes) measured' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l build-only -d 'Only prepare and stop: build the data dir (`backup`: needs --data), or also take a backup into --repo (`restore`: needs --repo). Drop the page cache, then measure'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from backup" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l data -d 'The data dir: reused when it holds one, else built there and kept. Default: a temporary dir, removed afterwards' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l repo -d 'The repository, a dir or s3://BUCKET/PREFIX: `restore` restores its newest backup (taking one first if it has none); `backup` adds one. Default: a temporary dir, removed afterwards' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l s3-endpoint -d 'The S3 server, for anything but AWS itself (MinIO, Ceph, R2...): http(s)://HOST:PORT' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l s3-region -d 'The bucket\'s region (default: AWS_REGION, else us-east-1)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l s3-part-size -d 'Part size of multipart uploads (`16MiB`; at least 5 MiB)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l s3-concurrency -d 'Parts of one upload sent at once; memory per upload is about part size × this' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l s3-profile -d 'The profile of the shared credentials file to use when the environment holds no key (default: AWS_PROFILE, else `default`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l size-mb -d 'SST megabytes (10^6 bytes) to build when the data dir is built' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l value-size -d 'Plain key/values with random (incompressible) values of this many bytes; 0 builds exchange records (orders, trades, accounts)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l threads -d 'Files in parallel (default: the number of CPUs); each file\'s blocks use every CPU' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l compress-level -d 'zstd level, 1 (fastest) to 22 (smallest)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l cluster-nodes -d '`restore` only: also restore the backup as each of N nodes of a new cluster (`restore --node-id --members`), one at a time as on N machines, beside a standalone restore of it; pairs alternate their order and medians are reported' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l pairs -d 'With --cluster-nodes: pairs of (standalone, N nodes) measured' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l s3-path-style -d 'Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l build-only -d 'Only prepare and stop: build the data dir (`backup`: needs --data), or also take a backup into --repo (`restore`: needs --repo). Drop the page cache, then measure'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l writes -d 'Writes per throughput run (each setup)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l writers -d 'Concurrent writers in the throughput runs' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l value-size -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l lag-rates -d 'Target rates of the replication-lag runs, writes per second' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l lag-seconds -d 'Seconds per lag run' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l archive-rate -d 'Write rate of the archive-lag run (`wal archive` polling a follower\'s dir); 0: none' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l archive-poll -d 'The archiver\'s poll interval in the archive-lag run (as `wal archive --poll`)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l failovers -d 'Failover rounds, each on a fresh cluster' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l timing -d 'Heartbeat and election timing, as `serve --timing`' -r -f -a "default\t''
fast\t''"
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l compaction-mb -d 'MB each node\'s tables are filled with before the leader\'s heartbeats are timed at the followers while every node compacts them; 0: no such run' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l rounds -d 'Rounds of the nemesis sequence (4 faults each)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l dir -d 'Where the nemesis run\'s node dirs and logs go (kept). Default: a temporary dir, removed afterwards unless the run fails' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l rate -d 'The nemesis load: writes per second, all clients together' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l nemesis -d 'Instead of the runs above: write outages of 3 `serve` processes under a steady load while, each round, the leader is paused and resumed, the leader killed and restarted, a follower paused, and the leader partitioned from its peers'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from cluster" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "write" -d 'Write throughput and latency (group commit across --writers threads)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "recover" -d 'Recovery speed: build a WAL, then time its replay'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "read" -d 'Read cost over compacted tables: random gets, one full scan, and the bytes on disk. Run once per --sst-compression on the same seed to compare'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "backup" -d 'Backup throughput (MB/s, compression ratio) over a data dir of SSTs it builds or reuses'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Restore throughput from a repository it fills or reuses'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "cluster" -d 'Three in-process nodes on loopback: write throughput and latency against one node with --sync always, replication lag at target rates, and failover times'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand completions" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand completions" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand completions" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand completions" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand man" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand man" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand man" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand man" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -l dir -r -F
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -l records -r
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -l value-size -r
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -l sync -r
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -l memtable-bytes -d 'Small values exercise flushes, compactions and WAL retirement under crashes' -r
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -l wal-segment-bytes -r
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand crash-writer" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "recover" -d 'Recover a data dir after a crash: replay the WAL after the checkpoint, report damage'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "get" -d 'Read one record from a stopped or crashed data dir (changes nothing)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "scan" -d 'List records of a stopped or crashed data dir by prefix or range (changes nothing)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "snapshot" -d 'Snapshots of the memtables for fast recovery: create, list, prune'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "repair" -d 'Rebuild a lost or damaged manifest from the SSTs (prints the plan; --apply carries it out)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "compact" -d 'Offline compaction: every level into the deepest, or --level N into N+1, in parallel'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "inspect" -d 'Look inside a data dir\'s files without changing them: WAL entries, SSTables, the manifest, or the dir as a whole'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "verify" -d 'Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "doctor" -d 'Whether the data can be recovered right now, and to what point: the data dir, its backups and WAL archive in one verdict, for people and monitoring; writes nothing'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "demo" -d 'Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "backup" -d 'Backups of a stopped data dir into a repository: init, create, list, info, verify'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "restore" -d 'Restore a backup into a new or empty dir (checked file by file and as a whole), or to a point in time with --to-seq/--to-time (archived WAL replayed after the backup)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "wal" -d 'WAL archiving for point-in-time restore'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "serve" -d 'Run the engine behind a Redis-protocol (RESP) server: redis-cli and Redis clients work'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "status" -d 'Role, uptime, sequences, clients, ops/s and levels of a running server (from INFO)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "cluster" -d 'Cluster membership and health over a node\'s --raft-listen address: init, status, add-learner, promote, remove'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "replicate" -d 'Run a cluster node that joins through --join as a learner: an asynchronous, read-only replica (the two-machine setup is one voter plus learners)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "bench" -d 'Measure write and recovery throughput (db_bench-like)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "completions" -d 'Print a shell completion script'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "man" -d 'Print the man page (roff)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "crash-writer" -d 'Child process of `demo` and the crash tests: writes a seeded workload, printing each acknowledged sequence'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover get scan snapshot repair compact inspect verify doctor demo backup restore wal serve status cluster replicate bench completions man crash-writer help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from snapshot" -f -a "create" -d 'Recover the dir if needed, then write a snapshot of everything above the checkpoint, so the next recovery replays only the WAL after it'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from snapshot" -f -a "list" -d 'List snapshots with their sequence, checkpoint and health (changes nothing)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from snapshot" -f -a "prune" -d 'Remove snapshots beyond the newest --keep and those the checkpoint has overtaken'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "wal" -d 'Dump WAL entries (one row per entry, damage inline, in log order) and say how the log ends: clean, torn tail, damage or a missing segment, with file and offset'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "sst" -d 'Show an SSTable\'s properties, and with --keys / --blocks its entries and blocks'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "manifest" -d 'List every version edit of the manifest (files added and deleted, checkpoint) and where CURRENT points. A torn final record (a crash during an append) is noted, not an error'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "dir" -d 'Summarise a data dir: files and bytes per level, WAL segments and how the log ends, snapshots, checkpoint, history id and an estimate of space amplification'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "init" -d 'Create a backup repository (also created by the first `backup create`)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "create" -d 'Take a full or incremental backup of a data dir, stopped or held by a running engine'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'List the complete backups in a repository'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "info" -d 'Show one backup: times, sequences, sizes, files'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Re-read every file of one or all backups against its blake3; exit 4 on any damage'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "expire" -d 'Remove backups the retention policy no longer keeps (never one a kept backup needs)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "unlock" -d 'Break the locks of a repository whose holder is gone (a machine that died during a backup to object storage). A local repository\'s locks go with their process and are never broken: this reports who holds them'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from wal" -f -a "archive" -d 'Copy the WAL into a backup repository for point-in-time restore: every closed segment, and the growing one up to its last complete entry, so a run from cron every N minutes loses at most N minutes of writes. The first run turns on the engine\'s hold: from then on it keeps every segment until it is archived (DIR/ARCHIVE_STATUS; --disable turns it off)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "init" -d 'Make the given nodes the voters of a new cluster (run once, on any of them)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "status" -d 'Every node\'s role, term, leader, log and replication progress, as one node sees it'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "add-learner" -d 'Add a running node as a learner (an asynchronous read replica); waits until it has caught up'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "promote" -d 'Make a learner a voter'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "force-new" -d 'After a lost quorum: make a stopped survivor\'s committed state a one-voter cluster under a new cluster id (uncommitted entries go to DIR/lost/)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "remove" -d 'Remove a node from the voters (and the cluster)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "write" -d 'Write throughput and latency (group commit across --writers threads)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "recover" -d 'Recovery speed: build a WAL, then time its replay'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "read" -d 'Read cost over compacted tables: random gets, one full scan, and the bytes on disk. Run once per --sst-compression on the same seed to compare'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "backup" -d 'Backup throughput (MB/s, compression ratio) over a data dir of SSTs it builds or reuses'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "restore" -d 'Restore throughput from a repository it fills or reuses'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "cluster" -d 'Three in-process nodes on loopback: write throughput and latency against one node with --sync always, replication lag at target rates, and failover times'
