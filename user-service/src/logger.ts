// pino JSON logs to stdout, with secrets redacted as a second line of defence: the code
// never logs a body, a password, a hash or a token in the first place. Lines are written in
// batches (scripts/bench/results/README.md, "What was tried": one write per line woke the container runtime for each
// request, and cost 10 to 25 % of database-read throughput).
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'req.headers.authorization',
  'headers.authorization',
];

// Stdout is written once 4 KiB of lines wait, or every 250 ms, whichever is first; pino writes
// what is left synchronously when the process exits (a crash included, but not SIGKILL).
export const STDOUT_BATCH = { dest: 1, sync: false, minLength: 4096, periodicFlush: 250 };

/** Every line names the service and the version this replica runs. */
export function createLogger(
  level: string,
  version: string,
  destination: DestinationStream = pino.destination(STDOUT_BATCH),
): Logger {
  const options = {
    level,
    base: { service: 'user-service', version },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return pino(options, destination);
}
