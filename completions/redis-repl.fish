# fish completion for redis-repl. Hand-written; tests/cli_test.cpp fails when a long option of
# the program is missing here.

set -l subcommands dump-rdb

complete -c redis-repl -f

# Before a subcommand.
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -l help \
    -d 'Print help and exit'
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -l version \
    -d 'Print the version and the RDB versions it reads'
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -a dump-rdb \
    -d 'Read an RDB snapshot and write out what it holds'

# dump-rdb
set -l dump_rdb '__fish_seen_subcommand_from dump-rdb'
complete -c redis-repl -n $dump_rdb -l help -d 'Print help and exit'
complete -c redis-repl -n $dump_rdb -l file -r -F -d 'Read the RDB from this file (- for stdin)'
complete -c redis-repl -n $dump_rdb -l format -x -a 'json human resp keys' -d 'Output format'
complete -c redis-repl -n $dump_rdb -l check -d 'Only verify the file and print totals'
complete -c redis-repl -n $dump_rdb -l db -x -d 'Only keys of this database (repeatable)'
complete -c redis-repl -n $dump_rdb -l match -x -d 'Only keys matching this glob (repeatable)'
complete -c redis-repl -n $dump_rdb -l type -x -a 'string list set zset hash stream module' \
    -d 'Only keys of this type (repeatable)'
complete -c redis-repl -n $dump_rdb -s q -l quiet -d 'No progress line on standard error'
