// make stats: what the mesh is doing, per replica, from Envoy's own stats.
//   make stats                        totals since each Envoy started, as a table
//   make stats ARGS=--json            the same, as JSON
//   make stats ARGS=--watch           refresh every 2 s, with rates per second
//   make stats ARGS='--watch --json'  one JSON line per refresh
import { parseArgs } from 'node:util';
import { DockerError } from '../lib/docker.js';
import { MeshDown, snapshot, type Snapshot } from './collect.js';
import { buildReport, renderReport } from './report.js';

const USAGE = 'usage: make stats [ARGS="--json --watch --interval SECONDS"]';

// `make stats ARGS=--json | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      interval: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  const interval = Number(values.interval);
  if (!(interval >= 0.5)) {
    console.error(`stats: --interval must be a number of seconds, at least 0.5 (got ${values.interval}). ${USAGE}`);
    process.exit(1);
  }

  const print = (now: Snapshot, before?: Snapshot) => {
    const report = buildReport(now, before);
    if (values.json) console.log(JSON.stringify(report, null, values.watch ? undefined : 2));
    else console.log(`${values.watch ? '\x1b[2J\x1b[H' : ''}${renderReport(report)}`);
  };

  let before = await snapshot();
  if (!values.watch) return print(before);
  process.on('SIGINT', () => process.exit(0));
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    const now = await snapshot();
    print(now, before);
    before = now;
  }
}

main().catch((err: unknown) => {
  // A stack that is not up, or Docker failing, is one line and exit 1; anything else is a bug.
  const code = (err as { code?: unknown }).code;
  if (err instanceof MeshDown || err instanceof DockerError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    console.error(`stats: ${(err as Error).message}`);
  } else {
    console.error('stats:', err);
  }
  process.exit(1);
});
