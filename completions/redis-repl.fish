# fish completion for redis-repl. Hand-written; tests/cli_test.cpp fails when a long option of
# the program is missing here.

set -l subcommands tail dump-rdb lag-check

complete -c redis-repl -f

# Before a subcommand.
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -l help \
    -d 'Print help and exit'
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -l version \
    -d 'Print the version and the RDB versions it reads'
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -a tail \
    -d 'Join a master as a replica and print its command feed'
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -a dump-rdb \
    -d 'Read an RDB snapshot and write out what it holds'
complete -c redis-repl -n "not __fish_seen_subcommand_from $subcommands" -a lag-check \
    -d 'Measure how far replicas are behind'

# What every subcommand takes: --help and the connection options.
set -l any "__fish_seen_subcommand_from $subcommands"
complete -c redis-repl -n $any -l help -d 'Print help and exit'
complete -c redis-repl -n $any -s h -l host -x -a '(__fish_print_hostnames)' \
    -d 'Server hostname (default 127.0.0.1)'
complete -c redis-repl -n $any -s p -l port -x -d 'Server port (default 6379)'
complete -c redis-repl -n $any -s a -l pass -x \
    -d 'Password to AUTH with (visible in ps; prefer REDISCLI_AUTH or --askpass)'
complete -c redis-repl -n $any -l user -x -d 'ACL user to AUTH as (with a password)'
complete -c redis-repl -n $any -l askpass -d 'Read the password from the terminal, without echo'
complete -c redis-repl -n $any -l no-auth-warning \
    -d 'No warning when a password is given on the command line'
complete -c redis-repl -n $any -s u -l uri -x -a 'redis:// rediss:// unix://' \
    -d 'Server URI: redis://[[user]:password@]host[:port][/db], rediss://, unix://'
complete -c redis-repl -n $any -l timeout -x -d 'Seconds without progress before giving up'
complete -c redis-repl -n $any -s s -l socket -r -F \
    -d 'Server Unix socket (instead of host and port)'
complete -c redis-repl -n $any -l tls -d 'Establish a secure TLS connection'
complete -c redis-repl -n $any -l cacert -r -F -d 'CA certificate file to verify the server with'
complete -c redis-repl -n $any -l cacertdir -x -a '(__fish_complete_directories)' \
    -d 'Directory of trusted CA certificates'
complete -c redis-repl -n $any -l cert -r -F -d 'Client certificate to authenticate with'
complete -c redis-repl -n $any -l key -r -F -d 'Private key of the client certificate'
complete -c redis-repl -n $any -l sni -x -a '(__fish_print_hostnames)' \
    -d 'Server name to send and to verify (default: the host)'
complete -c redis-repl -n $any -l insecure -d 'Allow insecure TLS: verify no certificate'
complete -c redis-repl -n $any -l tls-no-verify-name \
    -d 'Verify the certificate chain but not the name (weaker)'
complete -c redis-repl -n $any -l tls-ciphers -x -d 'Ciphers for TLS 1.2 and below'
complete -c redis-repl -n $any -l tls-ciphersuites -x -d 'Cipher suites for TLS 1.3'
complete -c redis-repl -n $any -l sentinel -x \
    -d 'A sentinel to ask where the master is (HOST:PORT, repeatable)'
complete -c redis-repl -n $any -l master-name -x -d "The master's name in Sentinel's configuration"
complete -c redis-repl -n $any -l sentinel-user -x -d 'ACL user to AUTH to the sentinels as'
complete -c redis-repl -n $any -l sentinel-pass -x -d 'Password to AUTH to the sentinels with'
complete -c redis-repl -n $any -l cluster -d 'Redis Cluster: the node and every --cluster-node are seeds'
complete -c redis-repl -n $any -l cluster-node -x \
    -d 'A seed node of the cluster (HOST:PORT, repeatable; implies --cluster)'
complete -c redis-repl -n '__fish_seen_subcommand_from tail dump-rdb' -s n -l dbnum -x \
    -d 'Database number: the default for --db'

# tail
set -l tail '__fish_seen_subcommand_from tail'
complete -c redis-repl -n $tail -l format -x -a 'json human resp report' -d 'Output format'
complete -c redis-repl -n $tail -l target-version -x \
    -a 'redis:7.2 redis:7.4 redis:8.6 valkey:8.1 valkey:9.0' \
    -d 'With --format resp: only commands this server has'
complete -c redis-repl -n $tail -l top -x -d 'With --format report: rows in each top list (default 20)'
complete -c redis-repl -n $tail -l prefix-separators -x \
    -d 'With --format report: characters that end a key prefix (default :)'
complete -c redis-repl -n $tail -l prefix-depth -x \
    -d 'With --format report: prefixes up to this many separators deep (default 2)'
complete -c redis-repl -n $tail -l report-format -x -a 'human json' \
    -d 'With --format report: tables for people or one JSON document'
complete -c redis-repl -n $tail -l snapshot \
    -d 'Print every key of the snapshot first, then the feed'
complete -c redis-repl -n $tail -l state -r -F \
    -d 'Resume from this file and keep it up to date'
complete -c redis-repl -n $tail -l allow-full-resync \
    -d 'When a resume gets a full resync, go on instead of exiting 9'
complete -c redis-repl -n $tail -l from-rdb -r -F \
    -d 'Resume from the replication info of a saved RDB'
complete -c redis-repl -n $tail -l db -x -d 'Only commands and keys of this database (repeatable)'
complete -c redis-repl -n $tail -l match -x \
    -d 'Only commands whose key matches this glob (repeatable)'
complete -c redis-repl -n $tail -l command -x -d 'Only these commands (repeatable)'
complete -c redis-repl -n $tail -l exclude-command -x -d 'Not these commands (repeatable)'
complete -c redis-repl -n $tail -l noise -d 'Also print PING, REPLCONF, SELECT, MULTI/EXEC'
complete -c redis-repl -n $tail -l count -x -d 'Stop after printing N commands'
complete -c redis-repl -n $tail -l duration -x -d 'Stop after this many seconds'
complete -c redis-repl -n $tail -l line-buffered \
    -d 'Write each line as it comes, also to a pipe or a file'
complete -c redis-repl -n $tail -l ack-written \
    -d 'ACK exactly what reached the output, so WAIT counts this tail'
complete -c redis-repl -n $tail -l spool -x -a '(__fish_complete_directories)' \
    -d 'Where output waits when the reader falls behind'
complete -c redis-repl -n $tail -l spool-max -x -d 'At most this much output waits (default 1G)'
complete -c redis-repl -n $tail -l announce-port -x \
    -d 'Port to announce with REPLCONF listening-port'
complete -c redis-repl -n $tail -l cluster-refresh -x \
    -d 'With --cluster: read the topology again this often (default 10)'
complete -c redis-repl -n $tail -l no-dual-channel \
    -d 'Never take the snapshot on a second connection'

# dump-rdb
set -l dump_rdb '__fish_seen_subcommand_from dump-rdb'
complete -c redis-repl -n $dump_rdb -l file -r -F \
    -d 'Read the RDB from this file (- for stdin) instead of a master'
complete -c redis-repl -n $dump_rdb -s o -l output -r -F \
    -d 'Write the master\'s snapshot as sent to this file (- for stdout)'
complete -c redis-repl -n $dump_rdb -l target-version -x \
    -a 'redis:7.2 redis:7.4 redis:8.6 valkey:8.1 valkey:9.0' \
    -d 'With --format resp: only commands this server has'
complete -c redis-repl -n $dump_rdb -l format -x -a 'json human resp keys memory report' \
    -d 'Output format'
complete -c redis-repl -n $dump_rdb -l top -x -d 'With --format report: rows in each top list (default 20)'
complete -c redis-repl -n $dump_rdb -l prefix-separators -x \
    -d 'With --format report: characters that end a key prefix (default :)'
complete -c redis-repl -n $dump_rdb -l prefix-depth -x \
    -d 'With --format report: prefixes up to this many separators deep (default 2)'
complete -c redis-repl -n $dump_rdb -l report-format -x -a 'human json' \
    -d 'With --format report: tables for people or one JSON document'
complete -c redis-repl -n $dump_rdb -l check -d 'Only verify the snapshot and print totals'
complete -c redis-repl -n $dump_rdb -l largest -x \
    -d 'With --format memory: only the N keys using the most memory'
complete -c redis-repl -n $dump_rdb -l db -x -d 'Only keys of this database (repeatable)'
complete -c redis-repl -n $dump_rdb -l match -x -d 'Only keys matching this glob (repeatable)'
complete -c redis-repl -n $dump_rdb -l type -x -a 'string list set zset hash stream module array path_hash' \
    -d 'Only keys of this type (repeatable)'
complete -c redis-repl -n $dump_rdb -s q -l quiet -d 'No progress line on standard error'
complete -c redis-repl -n $dump_rdb -l parallel -x \
    -d 'With --cluster: fetch up to N snapshots at once (default 2)'
complete -c redis-repl -n $dump_rdb -l no-dual-channel \
    -d 'Never take the snapshot on a second connection'

# lag-check
set -l lag_check '__fish_seen_subcommand_from lag-check'
complete -c redis-repl -n $lag_check -l replica -x \
    -d 'Check this replica (HOST:PORT) instead of those the master lists'
complete -c redis-repl -n $lag_check -l warn-bytes -x -d 'WARNING at this many bytes behind'
complete -c redis-repl -n $lag_check -l crit-bytes -x -d 'CRITICAL at this many bytes behind'
complete -c redis-repl -n $lag_check -l warn-seconds -x -d 'WARNING when a probe takes this long'
complete -c redis-repl -n $lag_check -l crit-seconds -x \
    -d 'CRITICAL when a probe takes this long'
complete -c redis-repl -n $lag_check -l min-replicas -x \
    -d 'CRITICAL when fewer replicas are found (default 1)'
complete -c redis-repl -n $lag_check -l probes -x -d 'Probes per sample (default 5)'
complete -c redis-repl -n $lag_check -l probe-timeout -x \
    -d 'Seconds to wait for probes to arrive (default 5)'
complete -c redis-repl -n $lag_check -l format -x -a 'human json nagios prometheus' \
    -d 'Output format'
complete -c redis-repl -n $lag_check -l watch -x -d 'Measure again every INTERVAL seconds'
complete -c redis-repl -n $lag_check -l count -x -d 'With --watch: stop after N samples'
complete -c redis-repl -n $lag_check -l output -r -F \
    -d 'Write each sample to FILE, replaced whole'
complete -c redis-repl -n $lag_check -l self \
    -d 'Also join as a replica and time the probes in our own feed'
