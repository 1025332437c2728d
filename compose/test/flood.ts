// A connection flood for the tests: N TCP connections to host:port, opened 500 at a time and
// never sent a byte, each held until the other end closes it or the flood ends. Run as a
// child process (on the host, or inside a test's own network namespace): its first line says
// when every connection was attempted, its last what became of them.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';

const FLOOD = `
import net from 'node:net';
const [host, port, n, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const stopAt = Date.now() + seconds * 1000;
const sockets = [];
const open = [];
let refused = 0, closedByPeer = 0, held = 0;
const lifetimes = [];
for (let i = 0; i < n; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, n - i) }, () => new Promise((done) => {
    const s = net.connect({ host, port });
    sockets.push(s);
    let since = 0;
    s.once('connect', () => { since = Date.now(); open.push(s); done(); });
    s.on('error', () => undefined);
    s.once('close', () => {
      if (!since) { refused++; done(); return; }
      if (Date.now() < stopAt) { closedByPeer++; lifetimes.push(Date.now() - since); }
    });
  })));
}
console.log(JSON.stringify({ attempted: n }));
while (Date.now() < stopAt && open.some((s) => !s.destroyed)) await new Promise((r) => setTimeout(r, 100));
held = open.filter((s) => !s.destroyed).length;
for (const s of sockets) s.destroy();
lifetimes.sort((a, b) => a - b);
console.log(JSON.stringify({
  connected: open.length, refused, closedByPeer, heldToTheEnd: held,
  longestOpenMs: lifetimes.at(-1) ?? 0,
  openMoreThan1s: lifetimes.filter((ms) => ms > 1000).length,
}));
`;

export interface FloodResult {
  connected: number; // the handshake completed (through Docker's port proxy: the proxy's)
  refused: number; // reset or refused before that
  closedByPeer: number; // closed by the other end before the flood ended
  heldToTheEnd: number; // still open when it ended
  longestOpenMs: number;
  openMoreThan1s: number; // connections that lived more than a second: the ones the edge took
}

/**
 * Starts a flood of `n` connections to host:port for at most `seconds`; `wrap` runs it
 * elsewhere (a network namespace: OutsideClient.inside). attempted resolves when every
 * connection was tried, done with the result.
 */
export function startFlood(
  host: string,
  port: number,
  n: number,
  seconds: number,
  wrap: (argv: string[]) => string[] = (argv) => argv,
) {
  const script = `${mkdtempSync(`${tmpdir()}/flood-`)}/flood.mjs`;
  writeFileSync(script, FLOOD);
  const [command, ...args] = wrap(['node', script, host, String(port), String(n), String(seconds)]);
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const seen: string[] = [];
  let onFirst: () => void = () => undefined;
  const attempted = new Promise<void>((resolve) => (onFirst = resolve));
  lines.on('line', (line) => {
    seen.push(line);
    if (seen.length === 1) onFirst();
  });
  const done = new Promise<FloodResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      onFirst();
      if (code !== 0 || seen.length < 2)
        reject(new Error(`the flood exited ${code}: ${seen.join(' ')}`));
      else resolve(JSON.parse(seen.at(-1)!) as FloodResult);
    });
  });
  return { attempted, done };
}
