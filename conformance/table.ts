// The conformance table: each target's results are kept in .cache/conformance/TARGET.json when
// its suite ends, and every suite prints the table of all targets recorded in this checkout
// (CI's fresh clone: this run's), target x check, with what an engine could not do.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { CHECKS } from './checks.js';
import type { Exemptions } from './target.js';

const DIR = new URL('../.cache/conformance/', import.meta.url).pathname;

interface Recorded {
  target: string;
  at: string;
  results: Record<string, string>;
  exemptions: Exemptions;
}

export function record(
  target: string,
  results: Record<string, string>,
  exemptions: Exemptions = {},
): void {
  mkdirSync(DIR, { recursive: true });
  const file = `${DIR}${target.replace(/[^\w-]+/g, '-')}.json`;
  const at = new Date().toISOString().slice(0, 16).replace('T', ' ');
  writeFileSync(file, JSON.stringify({ target, at, results, exemptions } satisfies Recorded));
}

/** The table as text: a row per check, a column per target; '-' where a check did not run. */
export function renderTable(recorded: Recorded[]): string {
  const targets = recorded.map((r) => r.target);
  const rows = Object.entries(CHECKS).map(([key, title]) => [
    title,
    ...recorded.map((r) => r.results[key] ?? '-'),
  ]);
  const header = ['check', ...targets];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const notes = recorded.flatMap((r) =>
    Object.values(r.exemptions).map((why) => `* ${r.target}: ${why}`),
  );
  return [
    line(header),
    ...rows.map(line),
    `(recorded ${recorded.map((r) => `${r.target} ${r.at}`).join(', ')} UTC)`,
    ...notes,
  ].join('\n');
}

/** The targets in the order the table shows them; any other after them. */
const ORDER = ['compose v2', 'compose v1', 'docker run', 'swarm', 'kubernetes'];
const rank = (target: string) => (ORDER.includes(target) ? ORDER.indexOf(target) : ORDER.length);

export function printTable(): void {
  const recorded = readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(`${DIR}${f}`, 'utf8')) as Recorded)
    .sort((a, b) => rank(a.target) - rank(b.target));
  console.log(`\nconformance, target x check:\n${renderTable(recorded)}\n`);
}
