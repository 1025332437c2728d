// npm run test:unit (make unit, make checks): runs the command it is given with a PostgreSQL of
// its own named by PG* (server.ts), then stops and removes that server, whatever the outcome.
// Usage: tsx scripts/scratch-postgres/main.ts COMMAND [ARGS...]
import { spawn } from 'node:child_process';
import { NoPostgres, startScratchPostgres } from './server.js';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: tsx scripts/scratch-postgres/main.ts COMMAND [ARGS...]');
  process.exit(2);
}
let server;
try {
  server = await startScratchPostgres();
} catch (err) {
  if (!(err instanceof NoPostgres)) throw err;
  console.error(`scratch-postgres: ${err.message}`);
  process.exit(1);
}
const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...server.env } });
// Ctrl-C reaches the child through the terminal; the server goes when the child has.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
  child.on('exit', (c, s) => resolve([c, s])),
);
await server.stop();
process.exit(code ?? (signal ? 1 : 0));
