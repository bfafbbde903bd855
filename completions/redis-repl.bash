# bash completion for redis-repl                            -*- shell-script -*-
#
# Hand-written; tests/cli_test.cpp fails when a long option of the program is missing here.
# Works with or without the bash-completion package (uses its _filedir when present).

# File names for the current word (--file, --state, --from-rdb, -o).
_redis_repl_files() {
    if declare -F _filedir >/dev/null; then
        _filedir
    else
        local IFS=$'\n' # file names may hold spaces
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

_redis_repl() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    # "--format=js": bash splits at '=' (COMP_WORDBREAKS), giving "--format" "=" "js".
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi

    local subcommand= i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            tail | dump-rdb | lag-check)
                subcommand=${COMP_WORDS[i]}
                break
                ;;
        esac
    done

    # The connection options every subcommand takes.
    local connection='-h --host -p --port -s --socket -a --pass --user --askpass
        --no-auth-warning -u --uri --timeout --tls --cacert --cacertdir --cert --key --sni
        --insecure --tls-no-verify-name --tls-ciphers --tls-ciphersuites --sentinel
        --master-name --sentinel-user --sentinel-pass --cluster --cluster-node'

    if [[ -n $subcommand ]]; then
        # Values of the connection options.
        case $prev in
            -h | --host)
                COMPREPLY=($(compgen -A hostname -- "$cur"))
                return 0
                ;;
            -s | --socket | --cacert | --cert | --key)
                _redis_repl_files
                return 0
                ;;
            --cacertdir)
                COMPREPLY=($(compgen -d -- "$cur"))
                return 0
                ;;
            -u | --uri)
                COMPREPLY=($(compgen -W 'redis:// rediss:// unix://' -- "$cur"))
                compopt -o nospace 2>/dev/null
                return 0
                ;;
            -p | --port | -a | --pass | --user | --timeout | -n | --dbnum | --sni | \
                --tls-ciphers | --tls-ciphersuites | --sentinel | --master-name | \
                --sentinel-user | --sentinel-pass | --cluster-node)
                return 0 # a number or a secret: nothing to offer
                ;;
        esac
    fi

    case $subcommand in
        '')
            COMPREPLY=($(compgen -W 'tail dump-rdb lag-check --help --version' -- "$cur"))
            ;;
        tail)
            case $prev in
                --state | --from-rdb)
                    _redis_repl_files
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W 'json human resp report' -- "$cur"))
                    return 0
                    ;;
                --report-format)
                    COMPREPLY=($(compgen -W 'human json' -- "$cur"))
                    return 0
                    ;;
                --spool)
                    COMPREPLY=($(compgen -d -- "$cur"))
                    return 0
                    ;;
                --target-version)
                    COMPREPLY=($(compgen -W 'redis:7.2 redis:7.4 redis:8.6 valkey:8.1 valkey:9.0' -- "$cur"))
                    return 0
                    ;;
                --db | --match | --command | --exclude-command | --count | --duration | \
                    --spool-max | --announce-port | --top | --prefix-separators | --prefix-depth | \
                    --cluster-refresh)
                    return 0 # a number, a glob or a name: nothing to offer
                    ;;
            esac
            COMPREPLY=($(compgen -W "$connection -n --dbnum --format --target-version --snapshot --state
                --allow-full-resync --from-rdb --db --match --command --exclude-command
                --noise --count --duration --line-buffered --ack-written --spool --spool-max
                --announce-port --top --prefix-separators --prefix-depth --report-format
                --cluster-refresh --no-dual-channel --help" -- "$cur"))
            ;;
        dump-rdb)
            case $prev in
                --file | -o | --output)
                    _redis_repl_files
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W 'json human resp keys memory report' -- "$cur"))
                    return 0
                    ;;
                --report-format)
                    COMPREPLY=($(compgen -W 'human json' -- "$cur"))
                    return 0
                    ;;
                --type)
                    COMPREPLY=($(compgen -W 'string list set zset hash stream module array path_hash' -- "$cur"))
                    return 0
                    ;;
                --target-version)
                    COMPREPLY=($(compgen -W 'redis:7.2 redis:7.4 redis:8.6 valkey:8.1 valkey:9.0' -- "$cur"))
                    return 0
                    ;;
                --db | --match | --largest | --top | --prefix-separators | --prefix-depth | \
                    --parallel)
                    return 0 # a number, a glob or characters: nothing to offer
                    ;;
            esac
            COMPREPLY=($(compgen -W "$connection -n --dbnum --file -o --output --format --target-version --check --db
                --match --type --largest --top --prefix-separators --prefix-depth --report-format
                -q --quiet --parallel --no-dual-channel --help" -- "$cur"))
            ;;
        lag-check)
            case $prev in
                --format)
                    COMPREPLY=($(compgen -W 'human json nagios prometheus' -- "$cur"))
                    return 0
                    ;;
                --replica | --warn-bytes | --crit-bytes | --warn-seconds | --crit-seconds | \
                    --min-replicas | --probes | --probe-timeout | --watch | --count)
                    return 0 # an address or a number: nothing to offer
                    ;;
                --output)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac
            COMPREPLY=($(compgen -W "$connection --replica --warn-bytes --crit-bytes
                --warn-seconds --crit-seconds --min-replicas --probes --probe-timeout --format
                --watch --count --output --self --help" -- "$cur"))
            ;;
    esac
    return 0
}

complete -F _redis_repl redis-repl
