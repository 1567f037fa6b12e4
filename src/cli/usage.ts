// Help text (plain strings: printing help loads nothing else).

export const GLOBAL_HELP = `Usage: chronicle [global flags] COMMAND [flags] [args]

chronicle is the command line client of chronicled, the event-sourced container runtime.

Commands:
  run       create and start a container, follow its output, exit with its code
  create    create a container and its task, without starting it
  start     start a created task
  ps        list containers and their tasks
  inspect   print a container (and its task) as JSON
  pause     pause a task
  resume    resume a paused task
  kill      signal a task
  exec      run another process in a task, exit with its code
  logs      print (or follow) a task's output
  rm        delete containers (their tasks first)
  wait      wait for a task to exit, print and exit with its code
  checkpoint   dump a task with CRIU (runc): checkpoint ID; checkpoint rm CHECKPOINT...
  checkpoints  list checkpoints (of one container: checkpoints ID)
  restore      restore a checkpoint into a new or task-less container
  events    print the event log (and follow it live)
  info      print what the daemon is and what its last recovery found
  daemon    run chronicled in the foreground with the given flags

History (points: a seq, an RFC 3339 time, or 10m / 2h / 1d ago):
  state     every container as it was: state --at POINT
  history   one container's events, each with its state after it
  diff      what changed between two points: diff FROM [TO]
  audit     who did what, with what outcome and facts
  verify    check the hash chain; exit 1 if it is broken
  replay    step through events with the change each made: replay --from A --to B
  log       retention: log compact --before POINT (archive older events); log archives

Fleet (every node's events in NATS JetStream, read without a daemon; --nats URL, --stream S):
  fleet     nodes | events [--node N] [--since P] [-f] | state --at P [--node N] | audit | verify [--node N]

Global flags (also accepted after the command):
  --socket PATH         the daemon's socket (env CHRONICLE_SOCKET)
  -n, --namespace NS    namespace (env CHRONICLE_NAMESPACE, default "default")
  --json                machine-readable output
  --timeout DURATION    deadline of each call (default 30s; waits only when given)
  -h, --help            this help, or a command's help

Exit codes: 0 ok; run, wait and exec exit with the process's code; 1 error; 2 usage.
`;

const CREATE_FLAGS = `  --runtime runc|process   the runtime (default: the daemon's)
  --rootfs DIR             a root filesystem; the daemon writes the OCI spec
  --bundle DIR             an OCI bundle (config.json); excludes --rootfs
  -e, --env K=V            environment (repeatable)
  -l, --label K=V          label (repeatable)
  --cwd DIR                working directory`;

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  run: `Usage: chronicle run [flags] ID [--] CMD...\n\n${CREATE_FLAGS}\n  --rm                     delete the container when it exits\n  -d, --detach             start it and return\n`,
  create: `Usage: chronicle create [flags] ID [--] CMD...\n\n${CREATE_FLAGS}\n`,
  start: 'Usage: chronicle start ID\n',
  ps: 'Usage: chronicle ps [-f LABEL[=VALUE]]...\n',
  inspect: 'Usage: chronicle inspect ID...\n',
  pause: 'Usage: chronicle pause ID\n',
  resume: 'Usage: chronicle resume ID\n',
  kill: 'Usage: chronicle kill [-s SIGNAL] [-a|--all] [--exec-id X] ID\n\n  -s, --signal SIGNAL   name (TERM, SIGKILL) or number; default SIGTERM\n',
  exec: 'Usage: chronicle exec [--exec-id X] [-e K=V]... [--cwd DIR] ID [--] CMD...\n',
  logs: 'Usage: chronicle logs [-f] [--stream stdout|stderr] ID\n',
  rm: 'Usage: chronicle rm [-f] ID...\n\n  -f, --force   kill a live task first\n',
  wait: 'Usage: chronicle wait [--exec-id X] ID\n',
  checkpoint:
    'Usage: chronicle checkpoint [--leave-running] [--name N] ID\n       chronicle checkpoint rm CHECKPOINT...\n\n' +
    '  --leave-running  keep the task running (default: the dump stops it)\n' +
    '  --name N         the checkpoint id (default: ID-<random>)\n' +
    'Needs the runc runtime and CRIU 4 (scripts/install-criu.sh).\n',
  checkpoints: 'Usage: chronicle checkpoints [ID]\n',
  restore: 'Usage: chronicle restore [--id NEW_ID] CHECKPOINT\n\n  --id NEW_ID   restore into this container (default: the one it was taken of)\n',
  events:
    'Usage: chronicle events [--since SEQ|TIME|DURATION] [-f|--follow] [--filter ns=|id=|type=]...\n\n' +
    '  --since   a seq (42), an RFC 3339 time, or a duration ago (10m, 2h, 30s)\n' +
    '  --follow  keep printing live events; reconnects by itself if the daemon restarts\n',
  info: 'Usage: chronicle info\n',
  daemon: 'Usage: chronicle daemon [chronicled flags...]  (e.g. --root DIR --state DIR --runtime process)\n',
  state: 'Usage: chronicle state [--at SEQ|TIME|DURATION]   (default: now)\n',
  history: 'Usage: chronicle history ID\n',
  diff: 'Usage: chronicle diff FROM [TO]   (points: SEQ, TIME or DURATION ago; TO defaults to now)\n',
  audit:
    'Usage: chronicle audit [--actor A] [--op OP] [--id ID] [--since P] [--until P] [--failed|--denied] [--limit N]\n\n' +
    '  --op      an operation such as tasks.Start or containers.Create\n' +
    '  --failed  only calls that failed; --denied only refusals\n',
  verify: 'Usage: chronicle verify   (exit 1 when the chain is broken)\n',
  replay: 'Usage: chronicle replay [--from P] [--to P] [--step]   (--step waits for Enter between events)\n',
  fleet:
    'Usage: chronicle fleet SUBCOMMAND [--nats URL[,URL]] [--stream NAME] [--nats-creds F | --nats-user U --nats-pass P | --nats-token T] [--nats-tls-ca F]\n\n' +
    '  nodes                                   each node: events in the stream, head, exported seq, lag, last seen\n' +
    '  events [--node N] [--since SEQ|TIME] [-f] [--filter ns=|id=|type=]...   every node\'s events (SEQ: per node)\n' +
    '  state --at TIME|SEQ [--node N]          each node\'s containers at that point (SEQ needs --node)\n' +
    '  audit [--node N] [--actor A] [--op OP] [--failed|--denied] [--since P] [--until P]\n' +
    '  verify [--node N]                       no gap, no duplicate, hash chain intact, from the stream alone (exit 1 if not)\n\n' +
    '  --nats defaults to $CHRONICLE_NATS or nats://127.0.0.1:4222; --stream to $CHRONICLE_NATS_STREAM or CHRONICLE\n',
  log:
    'Usage: chronicle log compact --before SEQ|TIME|DURATION\n       chronicle log archives\n\n' +
    '  compact   moves the events before the point into an archive file under ROOT/archive that\n' +
    '            still verifies; state --at an earlier point is answered from it\n' +
    '  archives  lists the archive files and the first seq the log itself holds\n',
};
