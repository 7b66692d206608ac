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
complete -c drkit -n "__fish_drkit_needs_command" -f -a "verify" -d 'Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "demo" -d 'Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "bench" -d 'Measure write and recovery throughput (db_bench-like)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "crash-writer" -d 'Child process of `demo` and the crash tests: writes a seeded workload, printing each acknowledged sequence'
complete -c drkit -n "__fish_drkit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -l mode -d 'What to do about damage in the WAL' -r -f -a "tolerate-tail\t'A torn, unsynced tail of the last segment is cut off (it was never acknowledged under sync=always); any other damage refuses to open'
absolute\t'Any damage at all, a torn tail included, refuses to open'
point-in-time\t'Stop at the first damage: keep everything before it, move the rest to lost/'
skip-corrupted\t'Skip damaged spans, move them to lost/, keep every readable entry after them'"
complete -c drkit -n "__fish_drkit_using_subcommand recover" -l dry-run -d 'Analyse and report; change nothing'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -l json -d 'Print the report as JSON'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c drkit -n "__fish_drkit_using_subcommand recover" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -l json -d 'Print JSON lines: one `finding` per problem, then a `summary`'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand verify" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l dir -d 'Where to build the data dir (kept afterwards). Default: a temporary dir, removed at the end' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l records -d 'Exchange records written before the crash phase' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -l seed -d 'Seed of the workload generator' -r
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand demo" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover help" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover help" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover help" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover help" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover help" -f -a "write" -d 'Write throughput and latency (group commit across --writers threads)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover help" -f -a "recover" -d 'Recovery speed: build a WAL, then time its replay'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and not __fish_seen_subcommand_from write recover help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l dir -d 'Keep the data here for inspection; default: a temporary dir, removed afterwards' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l records -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l value-size -d 'Plain key/values of this many bytes; 0 writes exchange records (orders, trades, accounts)' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l writers -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l sync -d 'always | interval:MS | never' -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from write" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l dir -d 'Keep the data here; with an existing data dir and --records 0, recover that one' -r -F
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l records -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l value-size -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l seed -r
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l build-only -d 'Only build the WAL in --dir and stop, to recover it later (`drkit recover DIR`, or `bench recover --dir DIR --records 0` on a copy)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -l json
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s v -l verbose -d 'More detail on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s q -l quiet -d 'Print nothing on success (for cron); failures still print one line on stderr'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s h -l help -d 'Print help'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from recover" -s V -l version -d 'Print version'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "write" -d 'Write throughput and latency (group commit across --writers threads)'
complete -c drkit -n "__fish_drkit_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "recover" -d 'Recovery speed: build a WAL, then time its replay'
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
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "recover" -d 'Recover a data dir after a crash: replay the WAL after the checkpoint, report damage'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "verify" -d 'Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "demo" -d 'Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "bench" -d 'Measure write and recovery throughput (db_bench-like)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "completions" -d 'Print a shell completion script'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "man" -d 'Print the man page (roff)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "crash-writer" -d 'Child process of `demo` and the crash tests: writes a seeded workload, printing each acknowledged sequence'
complete -c drkit -n "__fish_drkit_using_subcommand help; and not __fish_seen_subcommand_from recover verify demo bench completions man crash-writer help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "write" -d 'Write throughput and latency (group commit across --writers threads)'
complete -c drkit -n "__fish_drkit_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "recover" -d 'Recovery speed: build a WAL, then time its replay'
