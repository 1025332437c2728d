// The process: read the config, build the app, listen, prepare the database in the background,
// and on SIGTERM/SIGINT stop accepting, let in-flight requests finish, close the pool, exit 0.
// Started by a parent process (make dev's reloader), it also tells the parent when it is ready.
import { createServer } from 'node:http';
import { Server as NetServer } from 'node:net';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { buildService } from './service.js';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`user-service: ${err.message}\n`);
    process.exit(2);
  }
}

const config = configOrExit();

const log = createLogger(config.logLevel, config.version);
const { app, pool, db, identity, prepare } = await buildService(config, log);

const handle = app.callback();
// Once shutting down, every answer closes its connection: the client (the sidecar) then
// closes it itself, so no request of its can race a close of ours.
let shuttingDown = false;
const server = createServer((req, res) => {
  if (shuttingDown) res.setHeader('connection', 'close');
  void handle(req, res);
});
// Envoy keeps connections to us open and reuses them; we must not close an idle one first
// (a request racing our close would fail). Envoy's idle timeout for them is shorter (60 s).
server.keepAliveTimeout = 75_000;
server.headersTimeout = 76_000;

const stopping = new AbortController();
// reusePort (Node 22.12 and later): another process may listen on the same port beside this
// one, as make dev's reloader starts the new code before it stops the old.
server.listen({ port: config.port, host: config.host, reusePort: config.reusePort }, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info({ host: config.host, port, hostname: identity.hostname }, 'listening');
  void prepare(stopping.signal).then(() => {
    if (db.ready) process.send?.('ready');
  });
});

function shutdown(signal: string) {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
  stopping.abort();
  const deadline = setTimeout(() => {
    log.warn(
      { timeoutMs: config.shutdownTimeoutMs },
      'in-flight requests did not finish in time; closing them',
    );
    server.closeAllConnections();
  }, config.shutdownTimeoutMs);
  deadline.unref();
  // Keep closing idle keep-alive connections: one busy with a request becomes idle when its
  // response is sent (clients such as Envoy hold connections open, and would otherwise keep us
  // up until the deadline).
  const sweep = () => setInterval(() => server.closeIdleConnections(), 100).unref();
  const stopped = () => {
    pool.end().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'closing the database pool failed');
        process.exit(1);
      },
    );
  };
  if (config.shutdownIdleGraceMs > 0) {
    // The client may still send on our idle connections for a while (make dev's reload: the
    // sidecar is not drained first), and closes each after its answer. net.Server's close()
    // only stops accepting; http.Server's would close the idle connections at once.
    setTimeout(sweep, config.shutdownIdleGraceMs).unref();
    NetServer.prototype.close.call(server, stopped);
  } else {
    sweep();
    server.close(stopped);
  }
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
