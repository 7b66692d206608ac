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
(demo)
_arguments "${_arguments_options[@]}" : \
'--dir=[Where to build the data dir (kept afterwards). Default\: a temporary dir, removed at the end]:DIR:_files' \
'--records=[Exchange records written before the crash phase]:RECORDS:_default' \
'--seed=[Seed of the workload generator]:SEED:_default' \
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
'--build-only[Only build the WAL in --dir and stop, to recover it later (\`drkit recover DIR\`, or \`bench recover --dir DIR --records 0\` on a copy)]' \
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
(verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(demo)
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
'verify:Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing' \
'demo:Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost' \
'bench:Measure write and recovery throughput (db_bench-like)' \
'completions:Print a shell completion script' \
'man:Print the man page (roff)' \
'crash-writer:Child process of \`demo\` and the crash tests\: writes a seeded workload, printing each acknowledged sequence' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench_commands] )) ||
_drkit__subcmd__bench_commands() {
    local commands; commands=(
'write:Write throughput and latency (group commit across --writers threads)' \
'recover:Recovery speed\: build a WAL, then time its replay' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit bench commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help_commands] )) ||
_drkit__subcmd__bench__subcmd__help_commands() {
    local commands; commands=(
'write:Write throughput and latency (group commit across --writers threads)' \
'recover:Recovery speed\: build a WAL, then time its replay' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit bench help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__recover_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__help__subcmd__write_commands] )) ||
_drkit__subcmd__bench__subcmd__help__subcmd__write_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench help write commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__recover_commands] )) ||
_drkit__subcmd__bench__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__bench__subcmd__write_commands] )) ||
_drkit__subcmd__bench__subcmd__write_commands() {
    local commands; commands=()
    _describe -t commands 'drkit bench write commands' commands "$@"
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
(( $+functions[_drkit__subcmd__help_commands] )) ||
_drkit__subcmd__help_commands() {
    local commands; commands=(
'recover:Recover a data dir after a crash\: replay the WAL after the checkpoint, report damage' \
'verify:Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing' \
'demo:Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost' \
'bench:Measure write and recovery throughput (db_bench-like)' \
'completions:Print a shell completion script' \
'man:Print the man page (roff)' \
'crash-writer:Child process of \`demo\` and the crash tests\: writes a seeded workload, printing each acknowledged sequence' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'drkit help commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench_commands] )) ||
_drkit__subcmd__help__subcmd__bench_commands() {
    local commands; commands=(
'write:Write throughput and latency (group commit across --writers threads)' \
'recover:Recovery speed\: build a WAL, then time its replay' \
    )
    _describe -t commands 'drkit help bench commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__recover_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__recover_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench recover commands' commands "$@"
}
(( $+functions[_drkit__subcmd__help__subcmd__bench__subcmd__write_commands] )) ||
_drkit__subcmd__help__subcmd__bench__subcmd__write_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help bench write commands' commands "$@"
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
(( $+functions[_drkit__subcmd__help__subcmd__help_commands] )) ||
_drkit__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help help commands' commands "$@"
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
(( $+functions[_drkit__subcmd__help__subcmd__verify_commands] )) ||
_drkit__subcmd__help__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'drkit help verify commands' commands "$@"
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
(( $+functions[_drkit__subcmd__verify_commands] )) ||
_drkit__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'drkit verify commands' commands "$@"
}

if [ "$funcstack[1]" = "_drkit" ]; then
    _drkit "$@"
else
    compdef _drkit drkit
fi
