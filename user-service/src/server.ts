// The process: read the config, build the app, listen, prepare the database in the background,
// and on SIGTERM/SIGINT stop accepting, let in-flight requests finish, close the pool, exit 0.
import { createServer } from 'node:http';
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
const { app, pool, identity, prepare } = await buildService(config, log);

const handle = app.callback();
const server = createServer((req, res) => void handle(req, res));
// Envoy keeps connections to us open and reuses them; we must not close an idle one first
// (a request racing our close would fail). Envoy's idle timeout for them is shorter (60 s).
server.keepAliveTimeout = 75_000;
server.headersTimeout = 76_000;

const stopping = new AbortController();
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info({ host: config.host, port, hostname: identity.hostname }, 'listening');
  void prepare(stopping.signal);
});

let shuttingDown = false;
function shutdown(signal: string) {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
  stopping.abort();
  const deadline = setTimeout(() => {
    log.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight requests did not finish in time; closing them');
    server.closeAllConnections();
  }, config.shutdownTimeoutMs);
  deadline.unref();
  // close() stops accepting and closes idle keep-alive connections once; a connection busy
  // with a request becomes idle when its response is sent, so keep closing those (clients
  // such as Envoy hold connections open, and would otherwise keep us up until the deadline).
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  sweep.unref();
  server.close(() => {
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
  });
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
