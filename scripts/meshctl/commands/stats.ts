// meshctl stats: what the mesh is doing, per replica, from Envoy's own stats.
import type { Command } from '../../lib/cli.js';
import { UsageError } from '../../lib/errors.js';
import { snapshot, type Snapshot } from '../../stats/collect.js';
import { buildReport, renderReport } from '../../stats/report.js';

export const command: Command = {
  name: 'stats',
  group: 'inspect',
  summary: "per-replica view of the mesh from Envoy's stats: requests, errors, latency, health",
  flags: [
    { name: 'json', help: 'as JSON (with --watch, one line per refresh)' },
    { name: 'watch', help: 'refresh every interval, with rates per second (Ctrl-C stops)' },
    { name: 'interval', value: 'SECONDS', help: 'between refreshes (default 2, at least 0.5)' },
  ],
  about: 'Totals since each Envoy started, as a table. Exit 1 when the mesh is not up.',
  examples: ['meshctl stats', 'meshctl stats --watch', "make stats ARGS='--json'"],
  async run({ flags }) {
    const interval = Number(flags.interval ?? 2);
    if (!(interval >= 0.5))
      throw new UsageError(
        `--interval must be a number of seconds, at least 0.5 (got ${String(flags.interval)})`,
      );
    // The screen is cleared between refreshes only on a terminal: a pipe gets plain tables.
    const clear = flags.watch && process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
    const print = (now: Snapshot, before?: Snapshot) => {
      const report = buildReport(now, before);
      if (flags.json) console.log(JSON.stringify(report, null, flags.watch ? undefined : 2));
      else console.log(`${clear}${renderReport(report)}`);
    };
    let before = await snapshot();
    if (!flags.watch) return print(before);
    process.on('SIGINT', () => process.exit(0));
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, interval * 1000));
      const now = await snapshot();
      print(now, before);
      before = now;
    }
  },
};
