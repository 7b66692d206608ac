#compdef drkit

autoload -U is-at-least

_drkit() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_drkit_commands" \
"*::: :->drkit" \
&& ret=0
    case $state in
    (drkit)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-command-$line[1]:"
        case $line[1] in
            (recover)
_arguments "${_arguments_options[@]}" : \
'--mode=[What to do about damage in the WAL]:MODE:((tolerate-tail\:"A torn, unsynced tail of the last segment is cut off (it was never acknowledged under sync=always); any other damage refuses to open"
absolute\:"Any damage at all, a torn tail included, refuses to open"
point-in-time\:"Stop at the first damage\: keep everything before it, move the rest to lost/"
skip-corrupted\:"Skip damaged spans, move them to lost/, keep every readable entry after them"))' \
'--memory-budget=[Replayed data held in memory, like 4GiB; past it the oldest is written to L0 tables while replay goes on, so a WAL larger than RAM recovers. Default\: a quarter of RAM]:SIZE:_default' \
'--dry-run[Analyse and report; change nothing]' \
'--json[Print the report as JSON]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir:_files' \
&& ret=0
;;
(get)
_arguments "${_arguments_options[@]}" : \
'--json[Print the record as JSON]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir (stopped or crashed; nothing in it is changed):_files' \
':key -- `order\:ID`, `trade\:ID`, `account\:USER`, a plain key as text, `0x…` for a plain key in hex, or `raw\:…` for any internal key in hex:_default' \
&& ret=0
;;
(scan)
_arguments "${_arguments_options[@]}" : \
'(--from --to)--prefix=[Only keys starting with this (same syntax as keys\: \`order\:\`, \`account\:user-1\`, \`foo\`, \`0x…\`)]:PREFIX:_default' \
'--from=[First key (inclusive)]:FROM:_default' \
'--to=[Last key (exclusive)]:TO:_default' \
'--limit=[At most this many records; 0 for all]:LIMIT:_default' \
'--json[JSON Lines\: one record per line, then a summary line]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir (stopped or crashed; nothing in it is changed):_files' \
&& ret=0
;;
(snapshot)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_drkit__subcmd__snapshot_commands" \
"*::: :->snapshot" \
&& ret=0

    case $state in
    (snapshot)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-snapshot-command-$line[1]:"
        case $line[1] in
            (create)
_arguments "${_arguments_options[@]}" : \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir:_files' \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir:_files' \
&& ret=0
;;
(prune)
_arguments "${_arguments_options[@]}" : \
'--keep=[Usable snapshots to keep, newest first]:KEEP:_default' \
'--dry-run[Show what would be removed; remove nothing]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir:_files' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__snapshot__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-snapshot-help-command-$line[1]:"
        case $line[1] in
            (create)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(prune)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(repair)
_arguments "${_arguments_options[@]}" : \
'--apply[Carry the plan out. Without it, print the plan and change nothing]' \
'--json[Print the plan or report as JSON]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir (stopped\: repair takes its exclusive lock):_files' \
&& ret=0
;;
(compact)
_arguments "${_arguments_options[@]}" : \
'--level=[Compact only this level into the next one; default\: every level into the deepest]:N:_default' \
'--sst-compression=[How the rewritten tables store data blocks\: zstd, zstd\:LEVEL or none. Every table compacted is rewritten in the current format (version 2)]:CODEC:_default' \
'--threads=[Key ranges merged at once; default\: the number of cores]:N:_default' \
'--json[Print the report as JSON]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir (stopped\: compact takes its exclusive lock):_files' \
&& ret=0
;;
(inspect)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_drkit__subcmd__inspect_commands" \
"*::: :->inspect" \
&& ret=0

    case $state in
    (inspect)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-inspect-command-$line[1]:"
        case $line[1] in
            (wal)
_arguments "${_arguments_options[@]}" : \
'--from-seq=[Only entries with sequence >= SEQ]:SEQ:_default' \
'--to-seq=[Only entries with sequence <= SEQ]:SEQ:_default' \
'--since=[Only entries written at or after TIME (RFC 3339, e.g. 2024-05-01T12\:00\:00Z)]:TIME:_default' \
'--until=[Only entries written at or before TIME (RFC 3339)]:TIME:_default' \
'*--type=[Only entries of these types (repeat the flag or give a comma list)]:TYPE:(order trade account put delete checkpoint seal)' \
'--key-prefix=[Only entries whose key starts with P\: \`order\:ID\`, \`trade\:ID\`, \`account\:ID\`, \`raw\:HEX\` (any internal key), \`0xHEX\` or text (a plain key). \`order\:\` alone matches every order]:P:_default' \
'--limit=[Show at most N entries (the whole log is still read for the summary)]:N:_default' \
'--hex[Add each entry'\''s raw bytes in hex, and with --json its stored key and value (\`key_hex\`, \`value_hex\`), e.g. to load the same entries into another store]' \
'--json[JSON Lines\: one object per entry ("entry") or problem ("damage"), then a "summary"]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
':path -- A WAL segment file, or a data dir (every segment of DIR/wal/, in order):_files' \
&& ret=0
;;
(sst)
_arguments "${_arguments_options[@]}" : \
'--keys[Dump every entry, typed (key, sequence, value or tombstone, summary)]' \
'--blocks[List every block\: kind, offset, size, checksum, entries]' \
'--json[JSON Lines\: properties, blocks, entries, then a summary]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
':file -- The .sst file (read into memory, never mapped):_files' \
&& ret=0
;;
(manifest)
_arguments "${_arguments_options[@]}" : \
'--json[JSON Lines\: one object per edit, then a summary]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':path -- A data dir (the manifest CURRENT names) or a MANIFEST-NNNNNN file:_files' \
&& ret=0
;;
(dir)
_arguments "${_arguments_options[@]}" : \
'--json[One JSON object (type "summary") with the whole report]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir:_files' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__inspect__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-inspect-help-command-$line[1]:"
        case $line[1] in
            (wal)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(sst)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(manifest)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(dir)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(verify)
_arguments "${_arguments_options[@]}" : \
'--json[Print JSON lines\: one \`finding\` per problem, then a \`summary\`]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':dir -- The data dir (a stopped or crashed one; nothing in it is written):_files' \
&& ret=0
;;
(doctor)
_arguments "${_arguments_options[@]}" : \
'--data=[The data dir\: a running engine'\''s, a stopped or crashed one, or a cluster node'\''s. Nothing in it is written and its lock is not taken]:DIR:_files' \
'--repo=[The backup repository holding the dir'\''s backups and WAL archive\: a local dir, or s3\://BUCKET\[/PREFIX\]. Nothing in it is written and its locks are not taken]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--max-rpo=[Warn when the data dir'\''s newest entry is more than this past the newest one the repository can restore (the loss if the machine died now), like 5m]:DUR:_default' \
'--full-every=[Warn when the newest full backup is older than this]:DUR:_default' \
'--incr-every=[Warn when no backup (incremental or full) is newer than this]:DUR:_default' \
'--prometheus=[Also write the verdict as metrics for node_exporter'\''s textfile collector, replacing FILE atomically]:FILE:_files' \
'--now=[Measure ages as of this RFC 3339 time instead of now (tests, post-mortems)]:TIME:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--deep[Read every byte of the data dir and check every checksum (as \`verify\`); by default only headers, table footers and the log'\''s end are read]' \
'--json[Print one JSON document\: the sections, the window, the RPO and the findings]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(demo)
_arguments "${_arguments_options[@]}" : \
'--dir=[Where to build the data dir (kept afterwards). Default\: a temporary dir, removed at the end]:DIR:_files' \
'--records=[Exchange records written before the crash phase]:RECORDS:_default' \
'--seed=[Seed of the workload generator]:SEED:_default' \
'--writes=[With --cluster\: writes before the kill, and again after it. With --cluster-dr\: writes in each of its five batches]:WRITES:_default' \
'(--cluster --cluster-dr)--repo=[The repository the backup step uses\: a new dir or an empty s3\://BUCKET/PREFIX. Default\: a dir beside the data dir]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'(--cluster-dr)--cluster[Replication and failover instead\: three \`serve --node-id\` processes on loopback, SIGKILL of the leader, the election, the old leader back as a follower, and every acknowledged write checked on every node]' \
'--cluster-dr[Disaster recovery of a cluster instead\: three nodes, \`wal archive --follow\` on a follower, a full and an incremental backup on different nodes, the leader killed, a fat-finger DEL replicated everywhere, every dir deleted, and a new three-node cluster restored to just before the DEL, checked key by key on every node]' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--json[Print the report as one JSON line (the step lines are left out)]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(backup)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_drkit__subcmd__backup_commands" \
"*::: :->backup" \
&& ret=0

    case $state in
    (backup)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-backup-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(create)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--data=[The data dir to back up. When a running engine holds it, the backup is taken from a consistent point (hard links inside DIR/backup-points/) without stopping the engine]:DATA:_files' \
'--type=[]:KIND:((full\:"Every file of the dir"
incr\:"Only what the newest backup of the same dir history does not hold (new tables, the WAL since); taken as full when there is no such backup"))' \
'--threads=[Files compressed in parallel (default\: the number of CPUs)]:THREADS:_default' \
'--compress-level=[zstd level, 1 (fastest) to 22 (smallest)]:COMPRESS_LEVEL:_default' \
'--lock-wait=[Wait this long for another run'\''s repository lock (\`30s\`, \`5m\`, \`1h\`) instead of failing at once with exit 11]:LOCK_WAIT:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--logical-digest[Also record the count and a blake3 digest of every live record, which restore then checks the restored dir against. Reads and decompresses every table\: on compressed exchange records it costs more than the copy itself. Without it, every table'\''s block checksums are checked as it is copied and every file'\''s blake3 on restore]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(info)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':id -- The backup id (see `backup list`):_default' \
&& ret=0
;;
(verify)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--threads=[Files checked in parallel (default\: the number of CPUs)]:THREADS:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--restore-test[Also restore each backup into a temp dir and compare the logical digest]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
'::id -- One backup and the archived WAL its point-in-time window needs; every backup and all of the archive when omitted:_default' \
&& ret=0
;;
(expire)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--keep-full=[Full backups to keep, newest first (at least 1)]:KEEP_FULL:_default' \
'--keep-incr-days=[Keep incremental backups younger than this many days (while their full backup is kept)]:KEEP_INCR_DAYS:_default' \
'--keep-wal-days=[Keep archived WAL younger than this many days, and what replaying it needs]:KEEP_WAL_DAYS:_default' \
'--now=[Judge ages as of this time (RFC 3339) instead of now\: for retention drills]:NOW:_default' \
'--lock-wait=[Wait this long for a running backup, restore or verify instead of failing with exit 11]:LOCK_WAIT:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--dry-run[Show what would be removed; change nothing]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(unlock)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__backup__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-backup-help-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(create)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(info)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(expire)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(unlock)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(restore)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--target=[Where to restore; must be new or empty unless --force]:TARGET:_files' \
'--backup=[The backup to restore (default\: the newest backup, full or incremental; with --to-seq/--to-time, the newest backup at or before the target)]:BACKUP:_default' \
'(--to-time)--to-seq=[Point in time by sequence\: keep every entry with sequence ≤ N, replaying archived WAL after the backup. Exit 12 when the repository cannot reach it]:N:_default' \
'--to-time=[Point in time by commit time (RFC 3339, e.g. 2026-11-25T17\:00\:00Z)\: keep every entry before the first one committed after it. Exit 12 when the repository cannot reach it]:RFC3339:_default' \
'--node-id=[Restore as this node of a new cluster (with --members)\: \`serve --node-id N\` starts it, and the nodes restored alike elect a leader without \`cluster init\`]:N:_default' \
'*--members=[The new cluster'\''s voters, the same list for every node\: ID=RAFT_ADDR\[/CLIENT_ADDR\],...]:MEMBERS:_default' \
'--cluster-token=[Mixed into the new cluster'\''s id, the same for every node\: restoring one backup to one point with the same members twice (a rehearsal beside production) gives two clusters that never take each other'\''s nodes or share an archive history]:TOKEN:_default' \
'--threads=[Files decompressed in parallel (default\: the number of CPUs)]:THREADS:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--dry-run[Print the plan; change nothing]' \
'--force[Restore over a non-empty target\: its content is moved aside to TARGET.drkit-old-<time>, never deleted]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(wal)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_drkit__subcmd__wal_commands" \
"*::: :->wal" \
&& ret=0

    case $state in
    (wal)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-wal-command-$line[1]:"
        case $line[1] in
            (archive)
_arguments "${_arguments_options[@]}" : \
'--repo=[The repository\: a local dir, or s3\://BUCKET\[/PREFIX\] on any S3-compatible store (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or a profile of ~/.aws/credentials)]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--data=[The data dir; may be in use by a running engine (no lock is taken on it)]:DATA:_files' \
'--poll=[How often --follow looks for new WAL (\`500ms\`, \`1s\`, \`5s\`)]:POLL:_default' \
'--compress-level=[zstd level, 1 (fastest) to 22 (smallest)]:COMPRESS_LEVEL:_default' \
'--lock-wait=[Wait this long for another archiver of the same history instead of failing at once with exit 11]:LOCK_WAIT:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'(--disable)--follow[Keep running\: look again every --poll until SIGTERM or SIGINT (then exit 0). Silent but for errors and gap warnings unless -v]' \
'--disable[Turn archiving off for the data dir\: remove DIR/ARCHIVE_STATUS, so the engine deletes flushed segments again without waiting for the archive]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__wal__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-wal-help-command-$line[1]:"
        case $line[1] in
            (archive)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(serve)
_arguments "${_arguments_options[@]}" : \
'--data=[The data dir (created if missing); locked while the server runs]:DATA:_files' \
'--log-format=[Log lines on stderr\: \`text\` for people, \`json\` (one object per line) for log shippers. Filter with RUST_LOG (default\: info, and openraft'\''s errors)]:LOG_FORMAT:(text json)' \
'--listen=[Address for RESP clients (redis-cli -p, any Redis client). Port 0 picks a free port (printed at start)]:LISTEN:_default' \
'--sync=[When a write is acknowledged\: \`always\` (fsync first, shared by concurrent writers), \`interval\:MS\` (fsync every MS ms; a crash loses at most that), \`never\`]:SYNC:_default' \
'--metrics=[Serve Prometheus text metrics over HTTP on this address (GET /metrics)]:ADDR:_default' \
'--snapshot-interval=[Write a memtable snapshot this often (30s, 5m, 1h) so restarts replay less WAL]:DUR:_default' \
'--max-clients=[Most clients connected at once; more are refused with an error]:MAX_CLIENTS:_default' \
'--idle-timeout=[Close a client that sent nothing for this long (30s, 5m); 0 never does]:DUR:_default' \
'--max-bulk-len=[Largest bulk string (key or value) accepted in a request, in bytes]:MAX_BULK_LEN:_default' \
'--sst-compression=[How new SSTables store data blocks\: zstd, zstd\:LEVEL (1 fastest .. 22 smallest) or none. Tables already written keep theirs until compaction rewrites them]:CODEC:_default' \
'--block-cache-mb=[Decompressed SST blocks kept in memory for reads, in MiB; 0 decompresses on every read]:MIB:_default' \
'--memory-budget=[Replayed data recovery holds in memory when the node starts, like 4GiB; past it the oldest is written to L0 tables while replay goes on. Default\: a quarter of RAM]:SIZE:_default' \
'--requirepass-file=[Read the AUTH password from this file (first line). Without it, the DRKIT_REQUIREPASS environment variable is used if set. Never given on the command line, which \`ps\` shows]:PATH:_files' \
'--node-id=[Cluster mode\: this node'\''s id (1 or more, unique in the cluster). Writes then go through the Raft log and are acknowledged once a majority of voters holds them]:NODE_ID:_default' \
'--raft-listen=[Cluster mode\: where peers and \`drkit cluster\` reach this node]:ADDR:_default' \
'--cluster-secret-file=[Cluster mode\: the shared secret (first line of the file) every node and admin proves on connect. Never on the command line]:PATH:_files' \
'--timing=[Cluster mode\: heartbeat and election timing. \`default\`\: heartbeat 500 ms, election timeout 1.5-2 s. \`fast\`\: 50 ms and 0.3-0.6 s, for tests on one machine]:TIMING:(default fast)' \
'*--raft-route=[Cluster mode\: dial ADDR to reach node ID instead of the raft address the membership names (a NAT, a port forward or a proxy in between). Repeatable]:ID=ADDR:_default' \
'--no-protected-mode[Serve clients from any address even without a password (default\: only loopback clients are served when no password is set)]' \
'--json[Print the start and stop lines as JSON]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'--addr=[Address of a running \`drkit serve\`]:ADDR:_default' \
'--requirepass-file=[Password file for a server that requires AUTH (else DRKIT_REQUIREPASS is used)]:PATH:_files' \
'--timeout=[Give up connecting or reading after this long]:DUR:_default' \
'--json[Print the status as JSON]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(cluster)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_drkit__subcmd__cluster_commands" \
"*::: :->cluster" \
&& ret=0

    case $state in
    (cluster)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-cluster-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
'--addr=[A node'\''s --raft-listen address]:ADDR:_default' \
'--cluster-secret-file=[The cluster secret (first line of the file), as the nodes were given it]:PATH:_files' \
'--timeout=[Give up after this long (adding a learner waits for it to catch up)]:DUR:_default' \
'*--members=[The voters\: ID=RAFT_ADDR,... (each node must be running with that --node-id)]:MEMBERS:_default' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'--addr=[A node'\''s --raft-listen address]:ADDR:_default' \
'--cluster-secret-file=[The cluster secret (first line of the file), as the nodes were given it]:PATH:_files' \
'--timeout=[Give up after this long (adding a learner waits for it to catch up)]:DUR:_default' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(add-learner)
_arguments "${_arguments_options[@]}" : \
'--addr=[A node'\''s --raft-listen address]:ADDR:_default' \
'--cluster-secret-file=[The cluster secret (first line of the file), as the nodes were given it]:PATH:_files' \
'--timeout=[Give up after this long (adding a learner waits for it to catch up)]:DUR:_default' \
'--id=[The learner'\''s --node-id]:ID:_default' \
'--node-addr=[The learner'\''s --raft-listen address]:NODE_ADDR:_default' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(promote)
_arguments "${_arguments_options[@]}" : \
'--addr=[A node'\''s --raft-listen address]:ADDR:_default' \
'--cluster-secret-file=[The cluster secret (first line of the file), as the nodes were given it]:PATH:_files' \
'--timeout=[Give up after this long (adding a learner waits for it to catch up)]:DUR:_default' \
'--id=[The learner'\''s --node-id]:ID:_default' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(force-new)
_arguments "${_arguments_options[@]}" : \
'--data=[The survivor'\''s data dir (the node stopped)]:DATA:_files' \
'--node-id=[The survivor'\''s node id (it keeps it)]:NODE_ID:_default' \
'--raft-addr=[Its --raft-listen address, when the membership it recorded does not name it (or it moves)]:ADDR:_default' \
'--client-addr=[Its client address, named in \`-MOVED\` replies]:ADDR:_default' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
'--addr=[A node'\''s --raft-listen address]:ADDR:_default' \
'--cluster-secret-file=[The cluster secret (first line of the file), as the nodes were given it]:PATH:_files' \
'--timeout=[Give up after this long (adding a learner waits for it to catch up)]:DUR:_default' \
'--id=[The voter'\''s --node-id]:ID:_default' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__cluster__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-cluster-help-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(add-learner)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(promote)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(force-new)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(replicate)
_arguments "${_arguments_options[@]}" : \
'--join=[A member'\''s --raft-listen address; the request follows it to the leader]:JOIN:_default' \
'--data=[The data dir (created if missing); locked while the server runs]:DATA:_files' \
'--log-format=[Log lines on stderr\: \`text\` for people, \`json\` (one object per line) for log shippers. Filter with RUST_LOG (default\: info, and openraft'\''s errors)]:LOG_FORMAT:(text json)' \
'--listen=[Address for RESP clients (redis-cli -p, any Redis client). Port 0 picks a free port (printed at start)]:LISTEN:_default' \
'--sync=[When a write is acknowledged\: \`always\` (fsync first, shared by concurrent writers), \`interval\:MS\` (fsync every MS ms; a crash loses at most that), \`never\`]:SYNC:_default' \
'--metrics=[Serve Prometheus text metrics over HTTP on this address (GET /metrics)]:ADDR:_default' \
'--snapshot-interval=[Write a memtable snapshot this often (30s, 5m, 1h) so restarts replay less WAL]:DUR:_default' \
'--max-clients=[Most clients connected at once; more are refused with an error]:MAX_CLIENTS:_default' \
'--idle-timeout=[Close a client that sent nothing for this long (30s, 5m); 0 never does]:DUR:_default' \
'--max-bulk-len=[Largest bulk string (key or value) accepted in a request, in bytes]:MAX_BULK_LEN:_default' \
'--sst-compression=[How new SSTables store data blocks\: zstd, zstd\:LEVEL (1 fastest .. 22 smallest) or none. Tables already written keep theirs until compaction rewrites them]:CODEC:_default' \
'--block-cache-mb=[Decompressed SST blocks kept in memory for reads, in MiB; 0 decompresses on every read]:MIB:_default' \
'--memory-budget=[Replayed data recovery holds in memory when the node starts, like 4GiB; past it the oldest is written to L0 tables while replay goes on. Default\: a quarter of RAM]:SIZE:_default' \
'--requirepass-file=[Read the AUTH password from this file (first line). Without it, the DRKIT_REQUIREPASS environment variable is used if set. Never given on the command line, which \`ps\` shows]:PATH:_files' \
'--node-id=[Cluster mode\: this node'\''s id (1 or more, unique in the cluster). Writes then go through the Raft log and are acknowledged once a majority of voters holds them]:NODE_ID:_default' \
'--raft-listen=[Cluster mode\: where peers and \`drkit cluster\` reach this node]:ADDR:_default' \
'--cluster-secret-file=[Cluster mode\: the shared secret (first line of the file) every node and admin proves on connect. Never on the command line]:PATH:_files' \
'--timing=[Cluster mode\: heartbeat and election timing. \`default\`\: heartbeat 500 ms, election timeout 1.5-2 s. \`fast\`\: 50 ms and 0.3-0.6 s, for tests on one machine]:TIMING:(default fast)' \
'*--raft-route=[Cluster mode\: dial ADDR to reach node ID instead of the raft address the membership names (a NAT, a port forward or a proxy in between). Repeatable]:ID=ADDR:_default' \
'--no-protected-mode[Serve clients from any address even without a password (default\: only loopback clients are served when no password is set)]' \
'--json[Print the start and stop lines as JSON]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(bench)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_drkit__subcmd__bench_commands" \
"*::: :->bench" \
&& ret=0

    case $state in
    (bench)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-bench-command-$line[1]:"
        case $line[1] in
            (write)
_arguments "${_arguments_options[@]}" : \
'--dir=[Keep the data here for inspection; default\: a temporary dir, removed afterwards]:DIR:_files' \
'--records=[]:RECORDS:_default' \
'--value-size=[Plain key/values of this many bytes; 0 writes exchange records (orders, trades, accounts)]:VALUE_SIZE:_default' \
'--writers=[]:WRITERS:_default' \
'--sync=[always | interval\:MS | never]:SYNC:_default' \
'--seed=[]:SEED:_default' \
'--keyspace=[With --value-size\: cycle over this many keys, so later writes overwrite earlier ones]:KEYSPACE:_default' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(recover)
_arguments "${_arguments_options[@]}" : \
'--dir=[Keep the data here; with an existing data dir and --records 0, recover that one]:DIR:_files' \
'--records=[]:RECORDS:_default' \
'--value-size=[]:VALUE_SIZE:_default' \
'--seed=[]:SEED:_default' \
'--memory-budget=[Replayed data held in memory during recovery, like 2GiB (as \`recover --memory-budget\`). Default\: a quarter of RAM]:SIZE:_default' \
'--build-only[Only build the WAL in --dir and stop, to recover it later (\`drkit recover DIR\`, or \`bench recover --dir DIR --records 0\` on a copy)]' \
'--snapshot[Snapshot after the records, then write a tail of a tenth as many\: measures recovery from a snapshot (compare with the same run without it)]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(read)
_arguments "${_arguments_options[@]}" : \
'--dir=[Build the data dir here and keep it; default\: a temporary dir, removed afterwards]:DIR:_files' \
'--records=[]:RECORDS:_default' \
'--value-size=[Plain key/values of this many bytes; 0 writes exchange records (orders, trades, accounts)]:VALUE_SIZE:_default' \
'--sst-compression=[How the tables store data blocks\: none, zstd or zstd\:LEVEL]:SST_COMPRESSION:_default' \
'--block-cache-mb=[Decompressed blocks kept in memory, in MiB (0\: none), as \`serve --block-cache-mb\`]:BLOCK_CACHE_MB:_default' \
'--gets=[Point gets of present keys, timed one by one]:GETS:_default' \
'--seed=[]:SEED:_default' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(backup)
_arguments "${_arguments_options[@]}" : \
'--data=[The data dir\: reused when it holds one, else built there and kept. Default\: a temporary dir, removed afterwards]:DATA:_files' \
'--repo=[The repository, a dir or s3\://BUCKET/PREFIX\: \`restore\` restores its newest backup (taking one first if it has none); \`backup\` adds one. Default\: a temporary dir, removed afterwards]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--size-mb=[SST megabytes (10^6 bytes) to build when the data dir is built]:SIZE_MB:_default' \
'--value-size=[Plain key/values with random (incompressible) values of this many bytes; 0 builds exchange records (orders, trades, accounts)]:VALUE_SIZE:_default' \
'--seed=[]:SEED:_default' \
'--threads=[Files in parallel (default\: the number of CPUs); each file'\''s blocks use every CPU]:THREADS:_default' \
'--compress-level=[zstd level, 1 (fastest) to 22 (smallest)]:COMPRESS_LEVEL:_default' \
'--cluster-nodes=[\`restore\` only\: also restore the backup as each of N nodes of a new cluster (\`restore --node-id --members\`), one at a time as on N machines, beside a standalone restore of it; pairs alternate their order and medians are reported]:N:_default' \
'--pairs=[With --cluster-nodes\: pairs of (standalone, N nodes) measured]:PAIRS:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--build-only[Only prepare and stop\: build the data dir (\`backup\`\: needs --data), or also take a backup into --repo (\`restore\`\: needs --repo). Drop the page cache, then measure]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
'--data=[The data dir\: reused when it holds one, else built there and kept. Default\: a temporary dir, removed afterwards]:DATA:_files' \
'--repo=[The repository, a dir or s3\://BUCKET/PREFIX\: \`restore\` restores its newest backup (taking one first if it has none); \`backup\` adds one. Default\: a temporary dir, removed afterwards]:PATH|s3://BUCKET/PREFIX:_default' \
'--s3-endpoint=[The S3 server, for anything but AWS itself (MinIO, Ceph, R2...)\: http(s)\://HOST\:PORT]:URL:_default' \
'--s3-region=[The bucket'\''s region (default\: AWS_REGION, else us-east-1)]:REGION:_default' \
'--s3-part-size=[Part size of multipart uploads (\`16MiB\`; at least 5 MiB)]:SIZE:_default' \
'--s3-concurrency=[Parts of one upload sent at once; memory per upload is about part size × this]:N:_default' \
'--s3-profile=[The profile of the shared credentials file to use when the environment holds no key (default\: AWS_PROFILE, else \`default\`)]:NAME:_default' \
'--size-mb=[SST megabytes (10^6 bytes) to build when the data dir is built]:SIZE_MB:_default' \
'--value-size=[Plain key/values with random (incompressible) values of this many bytes; 0 builds exchange records (orders, trades, accounts)]:VALUE_SIZE:_default' \
'--seed=[]:SEED:_default' \
'--threads=[Files in parallel (default\: the number of CPUs); each file'\''s blocks use every CPU]:THREADS:_default' \
'--compress-level=[zstd level, 1 (fastest) to 22 (smallest)]:COMPRESS_LEVEL:_default' \
'--cluster-nodes=[\`restore\` only\: also restore the backup as each of N nodes of a new cluster (\`restore --node-id --members\`), one at a time as on N machines, beside a standalone restore of it; pairs alternate their order and medians are reported]:N:_default' \
'--pairs=[With --cluster-nodes\: pairs of (standalone, N nodes) measured]:PAIRS:_default' \
'--s3-path-style[Address the bucket in the path (ENDPOINT/BUCKET/KEY), as most self-hosted servers need, rather than in the host name]' \
'--build-only[Only prepare and stop\: build the data dir (\`backup\`\: needs --data), or also take a backup into --repo (\`restore\`\: needs --repo). Drop the page cache, then measure]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(cluster)
_arguments "${_arguments_options[@]}" : \
'--writes=[Writes per throughput run (each setup)]:WRITES:_default' \
'--writers=[Concurrent writers in the throughput runs]:WRITERS:_default' \
'--value-size=[]:VALUE_SIZE:_default' \
'*--lag-rates=[Target rates of the replication-lag runs, writes per second]:LAG_RATES:_default' \
'--lag-seconds=[Seconds per lag run]:LAG_SECONDS:_default' \
'--archive-rate=[Write rate of the archive-lag run (\`wal archive\` polling a follower'\''s dir); 0\: none]:ARCHIVE_RATE:_default' \
'--archive-poll=[The archiver'\''s poll interval in the archive-lag run (as \`wal archive --poll\`)]:ARCHIVE_POLL:_default' \
'--failovers=[Failover rounds, each on a fresh cluster]:FAILOVERS:_default' \
'--timing=[Heartbeat and election timing, as \`serve --timing\`]:TIMING:(default fast)' \
'--compaction-mb=[MB each node'\''s tables are filled with before the leader'\''s heartbeats are timed at the followers while every node compacts them; 0\: no such run]:COMPACTION_MB:_default' \
'--rounds=[Rounds of the nemesis sequence (4 faults each)]:ROUNDS:_default' \
'--dir=[Where the nemesis run'\''s node dirs and logs go (kept). Default\: a temporary dir, removed afterwards unless the run fails]:DIR:_files' \
'--rate=[The nemesis load\: writes per second, all clients together]:RATE:_default' \
'--nemesis[Instead of the runs above\: write outages of 3 \`serve\` processes under a steady load while, each round, the leader is paused and resumed, the leader killed and restarted, a follower paused, and the leader partitioned from its peers]' \
'--json[]' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__bench__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-bench-help-command-$line[1]:"
        case $line[1] in
            (write)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(recover)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(read)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(backup)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(cluster)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(completions)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':shell -- Shell to generate for:(bash zsh fish)' \
&& ret=0
;;
(man)
_arguments "${_arguments_options[@]}" : \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(crash-writer)
_arguments "${_arguments_options[@]}" : \
'--dir=[]:DIR:_files' \
'--seed=[]:SEED:_default' \
'--records=[]:RECORDS:_default' \
'--value-size=[]:VALUE_SIZE:_default' \
'--sync=[]:SYNC:_default' \
'--memtable-bytes=[Small values exercise flushes, compactions and WAL retirement under crashes]:MEMTABLE_BYTES:_default' \
'--wal-segment-bytes=[]:WAL_SEGMENT_BYTES:_default' \
'*-v[More detail on stderr]' \
'*--verbose[More detail on stderr]' \
'(-v --verbose)-q[Print nothing on success (for cron); failures still print one line on stderr]' \
'(-v --verbose)--quiet[Print nothing on success (for cron); failures still print one line on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-help-command-$line[1]:"
        case $line[1] in
            (recover)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(get)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(scan)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(snapshot)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__help__subcmd__snapshot_commands" \
"*::: :->snapshot" \
&& ret=0

    case $state in
    (snapshot)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-help-snapshot-command-$line[1]:"
        case $line[1] in
            (create)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(prune)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(repair)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(compact)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(inspect)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__help__subcmd__inspect_commands" \
"*::: :->inspect" \
&& ret=0

    case $state in
    (inspect)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-help-inspect-command-$line[1]:"
        case $line[1] in
            (wal)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(sst)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(manifest)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(dir)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(doctor)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(demo)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(backup)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__help__subcmd__backup_commands" \
"*::: :->backup" \
&& ret=0

    case $state in
    (backup)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-help-backup-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(create)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(info)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(expire)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(unlock)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(restore)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(wal)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__help__subcmd__wal_commands" \
"*::: :->wal" \
&& ret=0

    case $state in
    (wal)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-help-wal-command-$line[1]:"
        case $line[1] in
            (archive)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(serve)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(cluster)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__help__subcmd__cluster_commands" \
"*::: :->cluster" \
&& ret=0

    case $state in
    (cluster)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-help-cluster-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(add-learner)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(promote)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(force-new)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(replicate)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(bench)
_arguments "${_arguments_options[@]}" : \
":: :_drkit__subcmd__help__subcmd__bench_commands" \
"*::: :->bench" \
&& ret=0

    case $state in
    (bench)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:drkit-help-bench-command-$line[1]:"
        case $line[1] in
            (write)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(recover)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(read)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(backup)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(cluster)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(completions)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(man)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(crash-writer)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_drkit_commands] )) ||
_drkit_commands() {
    local commands; commands=(
'recover:Recover a data dir after a crash\: replay the WAL after the checkpoint, report damage' \
'get:Read one record from a stopped or crashed data dir (changes nothing)' \
'scan:List records of a stopped or crashed data dir by prefix or range (changes nothing)' \
'snapshot:Snapshots of the memtables for fast recovery\: create, list, prune' \
'repair:Rebuild a lost or damaged manifest from the SSTs (prints the plan; --apply carries it out)' \
'compact:Offline compaction\: every level into the deepest, or --level N into N+1, in parallel' \
'inspect:Look inside a data dir'\''s files without changing them\: WAL entries, SSTables, the manifest, or the dir as a whole' \
'verify:Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing' \
'doctor:Whether the data can be recovered right now, and to what point\: the data dir, its backups and WAL archive in one verdict, for people and monitoring; writes nothing' \
'demo:Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost' \
'backup:Backups of a stopped data dir into a repository\: init, create, list, info, verify' \
'restore:Restore a backup into a new or empty dir (checked file by file and as a whole), or to a point in time with --to-seq/--to-time (archived WAL replayed after the backup)' \
'wal:WAL archiving for point-in-time restore' \
'serve:Run the engine behind a Redis-protocol (RESP) server\: redis-cli and Redis clients work' \
'status:Role, uptime, sequences, clients, ops/s and levels of a running server (from INFO)' \
'cluster:Cluster membership and health over a node'\''s --raft-listen address\: init, status, add-learner, promote, remove' \
'replicate:Run a cluster node that joins through --join as a learner\: an asynchronous, read-only replica (the two-machine setup is one voter plus learners)' \
'bench:Measure write and recovery throughput (db_bench-like)' \
'completions:Print a shell completion script' \
'man:Print the man page (roff)' \
'crash-writer:Child process of \`demo\` and the crash tests\: writes a seeded workload, printing each acknowledged sequence' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup_commands] )) ||
_drkit__subcmd__backup_commands() {
    local commands; commands=(
'init:Create a backup repository (also created by the first \`backup create\`)' \
'create:Take a full or incremental backup of a data dir, stopped or held by a running engine' \
'list:List the complete backups in a repository' \
'info:Show one backup\: times, sequences, sizes, files' \
'verify:Re-read every file of one or all backups against its blake3; exit 4 on any damage' \
'expire:Remove backups the retention policy no longer keeps (never one a kept backup needs)' \
'unlock:Break the locks of a repository whose holder is gone (a machine that died during a backup to object storage). A local repository'\''s locks go with their process and are never broken\: this reports who holds them' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit backup commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__create_commands] )) ||
_drkit__subcmd__backup__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup create commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__expire_commands] )) ||
_drkit__subcmd__backup__subcmd__expire_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup expire commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help_commands] )) ||
_drkit__subcmd__backup__subcmd__help_commands() {
    local commands; commands=(
'init:Create a backup repository (also created by the first \`backup create\`)' \
'create:Take a full or incremental backup of a data dir, stopped or held by a running engine' \
'list:List the complete backups in a repository' \
'info:Show one backup\: times, sequences, sizes, files' \
'verify:Re-read every file of one or all backups against its blake3; exit 4 on any damage' \
'expire:Remove backups the retention policy no longer keeps (never one a kept backup needs)' \
'unlock:Break the locks of a repository whose holder is gone (a machine that died during a backup to object storage). A local repository'\''s locks go with their process and are never broken\: this reports who holds them' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit backup help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__create_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help create commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__expire_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__expire_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help expire commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__info_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__info_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help info commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__init_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help init commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__list_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help list commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__unlock_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__unlock_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help unlock commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__help__subcmd__verify_commands] )) ||
_drkit__subcmd__backup__subcmd__help__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup help verify commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__info_commands] )) ||
_drkit__subcmd__backup__subcmd__info_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup info commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__init_commands] )) ||
_drkit__subcmd__backup__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup init commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__list_commands] )) ||
_drkit__subcmd__backup__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup list commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__unlock_commands] )) ||
_drkit__subcmd__backup__subcmd__unlock_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup unlock commands' commands "$@"
}
(( $+functions[_drkit__subcmd__backup__subcmd__verify_commands] )) ||
_drkit__subcmd__backup__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'drkit backup verify commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench_commands] )) ||
_drkit__subcmd__bench_commands() {
    local commands; commands=(
'write:Write throughput and latency (group commit across --writers threads)' \
'recover:Recovery speed\: build a WAL, then time its replay' \
'read:Read cost over compacted tables\: random gets, one full scan, and the bytes on disk. Run once per --sst-compression on the same seed to compare' \
'backup:Backup throughput (MB/s, compression ratio) over a data dir of SSTs it builds or reuses' \
'restore:Restore throughput from a repository it fills or reuses' \
'cluster:Three in-process nodes on loopback\: write throughput and latency against one node with --sync always, replication lag at target rates, and failover times' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit bench commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__backup_commands] )) ||
_drkit__subcmd__bench__subcmd__backup_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench backup commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__cluster_commands] )) ||
_drkit__subcmd__bench__subcmd__cluster_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench cluster commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help_commands] )) ||
_drkit__subcmd__bench__subcmd__help_commands() {
    local commands; commands=(
'write:Write throughput and latency (group commit across --writers threads)' \
'recover:Recovery speed\: build a WAL, then time its replay' \
'read:Read cost over compacted tables\: random gets, one full scan, and the bytes on disk. Run once per --sst-compression on the same seed to compare' \
'backup:Backup throughput (MB/s, compression ratio) over a data dir of SSTs it builds or reuses' \
'restore:Restore throughput from a repository it fills or reuses' \
'cluster:Three in-process nodes on loopback\: write throughput and latency against one node with --sync always, replication lag at target rates, and failover times' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit bench help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__backup_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__backup_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help backup commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__cluster_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__cluster_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help cluster commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__read_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__read_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help read commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__recover_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__restore_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help restore commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__write_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__write_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help write commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__read_commands] )) ||
_drkit__subcmd__bench__subcmd__read_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench read commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__recover_commands] )) ||
_drkit__subcmd__bench__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__restore_commands] )) ||
_drkit__subcmd__bench__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench restore commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__write_commands] )) ||
_drkit__subcmd__bench__subcmd__write_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench write commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster_commands] )) ||
_drkit__subcmd__cluster_commands() {
    local commands; commands=(
'init:Make the given nodes the voters of a new cluster (run once, on any of them)' \
'status:Every node'\''s role, term, leader, log and replication progress, as one node sees it' \
'add-learner:Add a running node as a learner (an asynchronous read replica); waits until it has caught up' \
'promote:Make a learner a voter' \
'force-new:After a lost quorum\: make a stopped survivor'\''s committed state a one-voter cluster under a new cluster id (uncommitted entries go to DIR/lost/)' \
'remove:Remove a node from the voters (and the cluster)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit cluster commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__add-learner_commands] )) ||
_drkit__subcmd__cluster__subcmd__add-learner_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster add-learner commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__force-new_commands] )) ||
_drkit__subcmd__cluster__subcmd__force-new_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster force-new commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help_commands] )) ||
_drkit__subcmd__cluster__subcmd__help_commands() {
    local commands; commands=(
'init:Make the given nodes the voters of a new cluster (run once, on any of them)' \
'status:Every node'\''s role, term, leader, log and replication progress, as one node sees it' \
'add-learner:Add a running node as a learner (an asynchronous read replica); waits until it has caught up' \
'promote:Make a learner a voter' \
'force-new:After a lost quorum\: make a stopped survivor'\''s committed state a one-voter cluster under a new cluster id (uncommitted entries go to DIR/lost/)' \
'remove:Remove a node from the voters (and the cluster)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit cluster help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help__subcmd__add-learner_commands] )) ||
_drkit__subcmd__cluster__subcmd__help__subcmd__add-learner_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster help add-learner commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help__subcmd__force-new_commands] )) ||
_drkit__subcmd__cluster__subcmd__help__subcmd__force-new_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster help force-new commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__cluster__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster help help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help__subcmd__init_commands] )) ||
_drkit__subcmd__cluster__subcmd__help__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster help init commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help__subcmd__promote_commands] )) ||
_drkit__subcmd__cluster__subcmd__help__subcmd__promote_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster help promote commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help__subcmd__remove_commands] )) ||
_drkit__subcmd__cluster__subcmd__help__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster help remove commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__help__subcmd__status_commands] )) ||
_drkit__subcmd__cluster__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster help status commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__init_commands] )) ||
_drkit__subcmd__cluster__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster init commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__promote_commands] )) ||
_drkit__subcmd__cluster__subcmd__promote_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster promote commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__remove_commands] )) ||
_drkit__subcmd__cluster__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster remove commands' commands "$@"
}
(( $+functions[_drkit__subcmd__cluster__subcmd__status_commands] )) ||
_drkit__subcmd__cluster__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'drkit cluster status commands' commands "$@"
}
(( $+functions[_drkit__subcmd__compact_commands] )) ||
_drkit__subcmd__compact_commands() {
    local commands; commands=()
    _describe -t commands 'drkit compact commands' commands "$@"
}
(( $+functions[_drkit__subcmd__completions_commands] )) ||
_drkit__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'drkit completions commands' commands "$@"
}
(( $+functions[_drkit__subcmd__crash-writer_commands] )) ||
_drkit__subcmd__crash-writer_commands() {
    local commands; commands=()
    _describe -t commands 'drkit crash-writer commands' commands "$@"
}
(( $+functions[_drkit__subcmd__demo_commands] )) ||
_drkit__subcmd__demo_commands() {
    local commands; commands=()
    _describe -t commands 'drkit demo commands' commands "$@"
}
(( $+functions[_drkit__subcmd__doctor_commands] )) ||
_drkit__subcmd__doctor_commands() {
    local commands; commands=()
    _describe -t commands 'drkit doctor commands' commands "$@"
}
(( $+functions[_drkit__subcmd__get_commands] )) ||
_drkit__subcmd__get_commands() {
    local commands; commands=()
    _describe -t commands 'drkit get commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help_commands] )) ||
_drkit__subcmd__help_commands() {
    local commands; commands=(
'recover:Recover a data dir after a crash\: replay the WAL after the checkpoint, report damage' \
'get:Read one record from a stopped or crashed data dir (changes nothing)' \
'scan:List records of a stopped or crashed data dir by prefix or range (changes nothing)' \
'snapshot:Snapshots of the memtables for fast recovery\: create, list, prune' \
'repair:Rebuild a lost or damaged manifest from the SSTs (prints the plan; --apply carries it out)' \
'compact:Offline compaction\: every level into the deepest, or --level N into N+1, in parallel' \
'inspect:Look inside a data dir'\''s files without changing them\: WAL entries, SSTables, the manifest, or the dir as a whole' \
'verify:Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing' \
'doctor:Whether the data can be recovered right now, and to what point\: the data dir, its backups and WAL archive in one verdict, for people and monitoring; writes nothing' \
'demo:Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost' \
'backup:Backups of a stopped data dir into a repository\: init, create, list, info, verify' \
'restore:Restore a backup into a new or empty dir (checked file by file and as a whole), or to a point in time with --to-seq/--to-time (archived WAL replayed after the backup)' \
'wal:WAL archiving for point-in-time restore' \
'serve:Run the engine behind a Redis-protocol (RESP) server\: redis-cli and Redis clients work' \
'status:Role, uptime, sequences, clients, ops/s and levels of a running server (from INFO)' \
'cluster:Cluster membership and health over a node'\''s --raft-listen address\: init, status, add-learner, promote, remove' \
'replicate:Run a cluster node that joins through --join as a learner\: an asynchronous, read-only replica (the two-machine setup is one voter plus learners)' \
'bench:Measure write and recovery throughput (db_bench-like)' \
'completions:Print a shell completion script' \
'man:Print the man page (roff)' \
'crash-writer:Child process of \`demo\` and the crash tests\: writes a seeded workload, printing each acknowledged sequence' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup_commands] )) ||
_drkit__subcmd__help__subcmd__backup_commands() {
    local commands; commands=(
'init:Create a backup repository (also created by the first \`backup create\`)' \
'create:Take a full or incremental backup of a data dir, stopped or held by a running engine' \
'list:List the complete backups in a repository' \
'info:Show one backup\: times, sequences, sizes, files' \
'verify:Re-read every file of one or all backups against its blake3; exit 4 on any damage' \
'expire:Remove backups the retention policy no longer keeps (never one a kept backup needs)' \
'unlock:Break the locks of a repository whose holder is gone (a machine that died during a backup to object storage). A local repository'\''s locks go with their process and are never broken\: this reports who holds them' \
    )
    _describe -t commands 'drkit help backup commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup__subcmd__create_commands] )) ||
_drkit__subcmd__help__subcmd__backup__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help backup create commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup__subcmd__expire_commands] )) ||
_drkit__subcmd__help__subcmd__backup__subcmd__expire_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help backup expire commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup__subcmd__info_commands] )) ||
_drkit__subcmd__help__subcmd__backup__subcmd__info_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help backup info commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup__subcmd__init_commands] )) ||
_drkit__subcmd__help__subcmd__backup__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help backup init commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup__subcmd__list_commands] )) ||
_drkit__subcmd__help__subcmd__backup__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help backup list commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup__subcmd__unlock_commands] )) ||
_drkit__subcmd__help__subcmd__backup__subcmd__unlock_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help backup unlock commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__backup__subcmd__verify_commands] )) ||
_drkit__subcmd__help__subcmd__backup__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help backup verify commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench_commands] )) ||
_drkit__subcmd__help__subcmd__bench_commands() {
    local commands; commands=(
'write:Write throughput and latency (group commit across --writers threads)' \
'recover:Recovery speed\: build a WAL, then time its replay' \
'read:Read cost over compacted tables\: random gets, one full scan, and the bytes on disk. Run once per --sst-compression on the same seed to compare' \
'backup:Backup throughput (MB/s, compression ratio) over a data dir of SSTs it builds or reuses' \
'restore:Restore throughput from a repository it fills or reuses' \
'cluster:Three in-process nodes on loopback\: write throughput and latency against one node with --sync always, replication lag at target rates, and failover times' \
    )
    _describe -t commands 'drkit help bench commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__backup_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__backup_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench backup commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__cluster_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__cluster_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench cluster commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__read_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__read_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench read commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__recover_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__restore_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench restore commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__write_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__write_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench write commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__cluster_commands] )) ||
_drkit__subcmd__help__subcmd__cluster_commands() {
    local commands; commands=(
'init:Make the given nodes the voters of a new cluster (run once, on any of them)' \
'status:Every node'\''s role, term, leader, log and replication progress, as one node sees it' \
'add-learner:Add a running node as a learner (an asynchronous read replica); waits until it has caught up' \
'promote:Make a learner a voter' \
'force-new:After a lost quorum\: make a stopped survivor'\''s committed state a one-voter cluster under a new cluster id (uncommitted entries go to DIR/lost/)' \
'remove:Remove a node from the voters (and the cluster)' \
    )
    _describe -t commands 'drkit help cluster commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__cluster__subcmd__add-learner_commands] )) ||
_drkit__subcmd__help__subcmd__cluster__subcmd__add-learner_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help cluster add-learner commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__cluster__subcmd__force-new_commands] )) ||
_drkit__subcmd__help__subcmd__cluster__subcmd__force-new_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help cluster force-new commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__cluster__subcmd__init_commands] )) ||
_drkit__subcmd__help__subcmd__cluster__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help cluster init commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__cluster__subcmd__promote_commands] )) ||
_drkit__subcmd__help__subcmd__cluster__subcmd__promote_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help cluster promote commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__cluster__subcmd__remove_commands] )) ||
_drkit__subcmd__help__subcmd__cluster__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help cluster remove commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__cluster__subcmd__status_commands] )) ||
_drkit__subcmd__help__subcmd__cluster__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help cluster status commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__compact_commands] )) ||
_drkit__subcmd__help__subcmd__compact_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help compact commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__completions_commands] )) ||
_drkit__subcmd__help__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help completions commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__crash-writer_commands] )) ||
_drkit__subcmd__help__subcmd__crash-writer_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help crash-writer commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__demo_commands] )) ||
_drkit__subcmd__help__subcmd__demo_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help demo commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__doctor_commands] )) ||
_drkit__subcmd__help__subcmd__doctor_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help doctor commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__get_commands] )) ||
_drkit__subcmd__help__subcmd__get_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help get commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__inspect_commands] )) ||
_drkit__subcmd__help__subcmd__inspect_commands() {
    local commands; commands=(
'wal:Dump WAL entries (one row per entry, damage inline, in log order) and say how the log ends\: clean, torn tail, damage or a missing segment, with file and offset' \
'sst:Show an SSTable'\''s properties, and with --keys / --blocks its entries and blocks' \
'manifest:List every version edit of the manifest (files added and deleted, checkpoint) and where CURRENT points. A torn final record (a crash during an append) is noted, not an error' \
'dir:Summarise a data dir\: files and bytes per level, WAL segments and how the log ends, snapshots, checkpoint, history id and an estimate of space amplification' \
    )
    _describe -t commands 'drkit help inspect commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__inspect__subcmd__dir_commands] )) ||
_drkit__subcmd__help__subcmd__inspect__subcmd__dir_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help inspect dir commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__inspect__subcmd__manifest_commands] )) ||
_drkit__subcmd__help__subcmd__inspect__subcmd__manifest_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help inspect manifest commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__inspect__subcmd__sst_commands] )) ||
_drkit__subcmd__help__subcmd__inspect__subcmd__sst_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help inspect sst commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__inspect__subcmd__wal_commands] )) ||
_drkit__subcmd__help__subcmd__inspect__subcmd__wal_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help inspect wal commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__man_commands] )) ||
_drkit__subcmd__help__subcmd__man_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help man commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__recover_commands] )) ||
_drkit__subcmd__help__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__repair_commands] )) ||
_drkit__subcmd__help__subcmd__repair_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help repair commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__replicate_commands] )) ||
_drkit__subcmd__help__subcmd__replicate_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help replicate commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__restore_commands] )) ||
_drkit__subcmd__help__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help restore commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__scan_commands] )) ||
_drkit__subcmd__help__subcmd__scan_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help scan commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__serve_commands] )) ||
_drkit__subcmd__help__subcmd__serve_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help serve commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__snapshot_commands] )) ||
_drkit__subcmd__help__subcmd__snapshot_commands() {
    local commands; commands=(
'create:Recover the dir if needed, then write a snapshot of everything above the checkpoint, so the next recovery replays only the WAL after it' \
'list:List snapshots with their sequence, checkpoint and health (changes nothing)' \
'prune:Remove snapshots beyond the newest --keep and those the checkpoint has overtaken' \
    )
    _describe -t commands 'drkit help snapshot commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__snapshot__subcmd__create_commands] )) ||
_drkit__subcmd__help__subcmd__snapshot__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help snapshot create commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__snapshot__subcmd__list_commands] )) ||
_drkit__subcmd__help__subcmd__snapshot__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help snapshot list commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__snapshot__subcmd__prune_commands] )) ||
_drkit__subcmd__help__subcmd__snapshot__subcmd__prune_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help snapshot prune commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__status_commands] )) ||
_drkit__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help status commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__verify_commands] )) ||
_drkit__subcmd__help__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help verify commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__wal_commands] )) ||
_drkit__subcmd__help__subcmd__wal_commands() {
    local commands; commands=(
'archive:Copy the WAL into a backup repository for point-in-time restore\: every closed segment, and the growing one up to its last complete entry, so a run from cron every N minutes loses at most N minutes of writes. The first run turns on the engine'\''s hold\: from then on it keeps every segment until it is archived (DIR/ARCHIVE_STATUS; --disable turns it off)' \
    )
    _describe -t commands 'drkit help wal commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__wal__subcmd__archive_commands] )) ||
_drkit__subcmd__help__subcmd__wal__subcmd__archive_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help wal archive commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect_commands] )) ||
_drkit__subcmd__inspect_commands() {
    local commands; commands=(
'wal:Dump WAL entries (one row per entry, damage inline, in log order) and say how the log ends\: clean, torn tail, damage or a missing segment, with file and offset' \
'sst:Show an SSTable'\''s properties, and with --keys / --blocks its entries and blocks' \
'manifest:List every version edit of the manifest (files added and deleted, checkpoint) and where CURRENT points. A torn final record (a crash during an append) is noted, not an error' \
'dir:Summarise a data dir\: files and bytes per level, WAL segments and how the log ends, snapshots, checkpoint, history id and an estimate of space amplification' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit inspect commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__dir_commands] )) ||
_drkit__subcmd__inspect__subcmd__dir_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect dir commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__help_commands] )) ||
_drkit__subcmd__inspect__subcmd__help_commands() {
    local commands; commands=(
'wal:Dump WAL entries (one row per entry, damage inline, in log order) and say how the log ends\: clean, torn tail, damage or a missing segment, with file and offset' \
'sst:Show an SSTable'\''s properties, and with --keys / --blocks its entries and blocks' \
'manifest:List every version edit of the manifest (files added and deleted, checkpoint) and where CURRENT points. A torn final record (a crash during an append) is noted, not an error' \
'dir:Summarise a data dir\: files and bytes per level, WAL segments and how the log ends, snapshots, checkpoint, history id and an estimate of space amplification' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit inspect help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__help__subcmd__dir_commands] )) ||
_drkit__subcmd__inspect__subcmd__help__subcmd__dir_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect help dir commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__inspect__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect help help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__help__subcmd__manifest_commands] )) ||
_drkit__subcmd__inspect__subcmd__help__subcmd__manifest_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect help manifest commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__help__subcmd__sst_commands] )) ||
_drkit__subcmd__inspect__subcmd__help__subcmd__sst_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect help sst commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__help__subcmd__wal_commands] )) ||
_drkit__subcmd__inspect__subcmd__help__subcmd__wal_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect help wal commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__manifest_commands] )) ||
_drkit__subcmd__inspect__subcmd__manifest_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect manifest commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__sst_commands] )) ||
_drkit__subcmd__inspect__subcmd__sst_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect sst commands' commands "$@"
}
(( $+functions[_drkit__subcmd__inspect__subcmd__wal_commands] )) ||
_drkit__subcmd__inspect__subcmd__wal_commands() {
    local commands; commands=()
    _describe -t commands 'drkit inspect wal commands' commands "$@"
}
(( $+functions[_drkit__subcmd__man_commands] )) ||
_drkit__subcmd__man_commands() {
    local commands; commands=()
    _describe -t commands 'drkit man commands' commands "$@"
}
(( $+functions[_drkit__subcmd__recover_commands] )) ||
_drkit__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__repair_commands] )) ||
_drkit__subcmd__repair_commands() {
    local commands; commands=()
    _describe -t commands 'drkit repair commands' commands "$@"
}
(( $+functions[_drkit__subcmd__replicate_commands] )) ||
_drkit__subcmd__replicate_commands() {
    local commands; commands=()
    _describe -t commands 'drkit replicate commands' commands "$@"
}
(( $+functions[_drkit__subcmd__restore_commands] )) ||
_drkit__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'drkit restore commands' commands "$@"
}
(( $+functions[_drkit__subcmd__scan_commands] )) ||
_drkit__subcmd__scan_commands() {
    local commands; commands=()
    _describe -t commands 'drkit scan commands' commands "$@"
}
(( $+functions[_drkit__subcmd__serve_commands] )) ||
_drkit__subcmd__serve_commands() {
    local commands; commands=()
    _describe -t commands 'drkit serve commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot_commands] )) ||
_drkit__subcmd__snapshot_commands() {
    local commands; commands=(
'create:Recover the dir if needed, then write a snapshot of everything above the checkpoint, so the next recovery replays only the WAL after it' \
'list:List snapshots with their sequence, checkpoint and health (changes nothing)' \
'prune:Remove snapshots beyond the newest --keep and those the checkpoint has overtaken' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit snapshot commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__create_commands] )) ||
_drkit__subcmd__snapshot__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'drkit snapshot create commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__help_commands] )) ||
_drkit__subcmd__snapshot__subcmd__help_commands() {
    local commands; commands=(
'create:Recover the dir if needed, then write a snapshot of everything above the checkpoint, so the next recovery replays only the WAL after it' \
'list:List snapshots with their sequence, checkpoint and health (changes nothing)' \
'prune:Remove snapshots beyond the newest --keep and those the checkpoint has overtaken' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit snapshot help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__help__subcmd__create_commands] )) ||
_drkit__subcmd__snapshot__subcmd__help__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'drkit snapshot help create commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__snapshot__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit snapshot help help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__help__subcmd__list_commands] )) ||
_drkit__subcmd__snapshot__subcmd__help__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'drkit snapshot help list commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__help__subcmd__prune_commands] )) ||
_drkit__subcmd__snapshot__subcmd__help__subcmd__prune_commands() {
    local commands; commands=()
    _describe -t commands 'drkit snapshot help prune commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__list_commands] )) ||
_drkit__subcmd__snapshot__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'drkit snapshot list commands' commands "$@"
}
(( $+functions[_drkit__subcmd__snapshot__subcmd__prune_commands] )) ||
_drkit__subcmd__snapshot__subcmd__prune_commands() {
    local commands; commands=()
    _describe -t commands 'drkit snapshot prune commands' commands "$@"
}
(( $+functions[_drkit__subcmd__status_commands] )) ||
_drkit__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'drkit status commands' commands "$@"
}
(( $+functions[_drkit__subcmd__verify_commands] )) ||
_drkit__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'drkit verify commands' commands "$@"
}
(( $+functions[_drkit__subcmd__wal_commands] )) ||
_drkit__subcmd__wal_commands() {
    local commands; commands=(
'archive:Copy the WAL into a backup repository for point-in-time restore\: every closed segment, and the growing one up to its last complete entry, so a run from cron every N minutes loses at most N minutes of writes. The first run turns on the engine'\''s hold\: from then on it keeps every segment until it is archived (DIR/ARCHIVE_STATUS; --disable turns it off)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit wal commands' commands "$@"
}
(( $+functions[_drkit__subcmd__wal__subcmd__archive_commands] )) ||
_drkit__subcmd__wal__subcmd__archive_commands() {
    local commands; commands=()
    _describe -t commands 'drkit wal archive commands' commands "$@"
}
(( $+functions[_drkit__subcmd__wal__subcmd__help_commands] )) ||
_drkit__subcmd__wal__subcmd__help_commands() {
    local commands; commands=(
'archive:Copy the WAL into a backup repository for point-in-time restore\: every closed segment, and the growing one up to its last complete entry, so a run from cron every N minutes loses at most N minutes of writes. The first run turns on the engine'\''s hold\: from then on it keeps every segment until it is archived (DIR/ARCHIVE_STATUS; --disable turns it off)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit wal help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__wal__subcmd__help__subcmd__archive_commands] )) ||
_drkit__subcmd__wal__subcmd__help__subcmd__archive_commands() {
    local commands; commands=()
    _describe -t commands 'drkit wal help archive commands' commands "$@"
}
(( $+functions[_drkit__subcmd__wal__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__wal__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit wal help help commands' commands "$@"
}

if [ "$funcstack[1]" = "_drkit" ]; then
    _drkit "$@"
else
    compdef _drkit drkit
fi
