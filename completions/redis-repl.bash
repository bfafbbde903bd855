# bash completion for redis-repl                            -*- shell-script -*-
#
# Hand-written; tests/cli_test.cpp fails when a long option of the program is missing here.
# Works with or without the bash-completion package (uses its _filedir when present).

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
            dump-rdb)
                subcommand=${COMP_WORDS[i]}
                break
                ;;
        esac
    done

    case $subcommand in
        '')
            COMPREPLY=($(compgen -W 'dump-rdb --help --version' -- "$cur"))
            ;;
        dump-rdb)
            case $prev in
                --file)
                    if declare -F _filedir >/dev/null; then
                        _filedir
                    else
                        local IFS=$'\n' # file names may hold spaces
                        compopt -o filenames 2>/dev/null
                        COMPREPLY=($(compgen -f -- "$cur"))
                    fi
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W 'json human resp keys' -- "$cur"))
                    return 0
                    ;;
                --type)
                    COMPREPLY=($(compgen -W 'string list set zset hash stream module' -- "$cur"))
                    return 0
                    ;;
                --db | --match)
                    return 0 # a number or a glob: nothing to offer
                    ;;
            esac
            COMPREPLY=($(compgen -W \
                '--file --format --check --db --match --type -q --quiet --help' -- "$cur"))
            ;;
    esac
    return 0
}

complete -F _redis_repl redis-repl
