// make dev's reloader, inside a replica in place of the compiled service: runs the service from
// the sources mounted from the host (with tsx), and on every change starts the new code beside
// the running process (both listen on the port: SO_REUSEPORT), waits until it is ready, then
// stops the old one gracefully. The sidecar always finds a process to answer, and closes its
// connections to the old one itself. A change that does not start keeps the old process
// serving, and says why. SIGTERM (the container's drain) goes on to the running process.
import { fork, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SOURCES = fileURLToPath(new URL('../src', import.meta.url));
const ENTRY = `${SOURCES}/server.ts`;
const SETTLE_MS = 200; // an editor's save can be several writes
// Long enough for the sidecar to close its idle connections to the old process itself.
const IDLE_GRACE_MS = 2000;

const say = (msg: string) =>
  process.stderr.write(`${JSON.stringify({ time: Date.now(), msg: `reload: ${msg}` })}\n`);

let serving: ChildProcess | undefined;
let starting: ChildProcess | undefined;
let stopping = false;

function start(reason: string): void {
  starting?.kill('SIGKILL'); // superseded by a newer change
  const began = Date.now();
  const child = fork(ENTRY, [], {
    // The same loader that runs this file (tsx), for the service's TypeScript.
    execArgv: process.execArgv,
    env: { ...process.env, REUSE_PORT: '1', SHUTDOWN_IDLE_GRACE_MS: String(IDLE_GRACE_MS) },
  });
  // The first process serves from the start; a later one once it says it is ready.
  if (serving) starting = child;
  else serving = child;
  child.on('message', (message) => {
    if (message !== 'ready') return;
    if (child !== starting) {
      if (child === serving) say(`${reason}: serving, ready ${Date.now() - began} ms after start`);
      return;
    }
    const old = serving;
    serving = child;
    starting = undefined;
    old?.kill('SIGTERM');
    say(
      `${reason}: the new code serves, ${Date.now() - began} ms after the change${old ? '; the old process drains' : ''}`,
    );
  });
  child.on('exit', (code, signal) => {
    if (child === starting) {
      starting = undefined;
      say(
        `${reason}: the new code stopped before it was ready (exit ${code ?? signal}); ${serving ? 'the previous code still serves' : 'nothing serves yet'}`,
      );
      return;
    }
    if (child === serving && !stopping) {
      // The running service died on its own: so does the replica (the entrypoint sees us exit).
      say(`the service exited (${code ?? signal})`);
      process.exit(code ?? 1);
    }
    if (child === serving && stopping) process.exit(code ?? 0);
  });
}

let timer: NodeJS.Timeout | undefined;
watch(SOURCES, { recursive: true }, (_event, file) => {
  clearTimeout(timer);
  timer = setTimeout(() => start(`${file ?? 'a source'} changed`), SETTLE_MS);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    stopping = true;
    starting?.kill('SIGKILL');
    if (!serving) process.exit(0);
    serving.kill(signal);
  });
}

say(`watching ${SOURCES}`);
start('start');
