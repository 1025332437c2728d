// pino JSON logs to stdout, with secrets redacted as a second line of defence: the code
// never logs a body, a password, a hash or a token in the first place.
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'req.headers.authorization',
  'headers.authorization',
];

/** Every line names the service and the version this replica runs. */
export function createLogger(level: string, version: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'user-service', version }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
