// The edge's HTTPS certificate. By default the install's CA issues it (scripts/mesh-ca:
// localhost, 127.0.0.1, ::1 and EDGE_HOSTNAMES); EDGE_TLS_CERT_FILE and EDGE_TLS_KEY_FILE name
// your own instead (from your ACME client, say). Yours is checked here, on the host, before
// anything starts: a PEM certificate (chain) and its unencrypted key, valid now, naming every
// EDGE_HOSTNAMES entry. Each problem is one line naming the variable and the file.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { UsageError } from './errors.js';

export interface EdgeCertificate {
  cert: string; // absolute paths on the host
  key: string;
}

type Env = Record<string, string | undefined>;

/** EDGE_HOSTNAMES: the names clients use, comma-separated. */
export const hostnames = (env: Env): string[] =>
  (env.EDGE_HOSTNAMES ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);

function readNamed(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${variable}: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code})`,
    );
  }
}

/**
 * The user's certificate and key, checked, or null when neither variable is set (the CA's
 * own is used). `now` is for the tests.
 */
export function userCertificate(env: Env, now = new Date()): EdgeCertificate | null {
  const certVar = env.EDGE_TLS_CERT_FILE?.trim();
  const keyVar = env.EDGE_TLS_KEY_FILE?.trim();
  if (!certVar && !keyVar) return null;
  if (!certVar || !keyVar)
    throw new UsageError(
      'EDGE_TLS_CERT_FILE and EDGE_TLS_KEY_FILE go together: set both, or neither',
    );
  const cert = resolve(certVar);
  const key = resolve(keyVar);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(readNamed('EDGE_TLS_CERT_FILE', cert));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`EDGE_TLS_CERT_FILE: ${cert} is not a PEM certificate`);
  }
  const keyText = readNamed('EDGE_TLS_KEY_FILE', key);
  let privateKey;
  try {
    privateKey = createPrivateKey(keyText);
  } catch {
    throw new UsageError(
      `EDGE_TLS_KEY_FILE: ${key} is not an unencrypted PEM private key (Envoy cannot ask for a passphrase)`,
    );
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new UsageError(`EDGE_TLS_KEY_FILE: ${key} is not the key of the certificate in ${cert}`);
  if (new Date(x509.validTo) <= now)
    throw new UsageError(`EDGE_TLS_CERT_FILE: ${cert} expired on ${x509.validTo}`);
  if (new Date(x509.validFrom) > now)
    throw new UsageError(`EDGE_TLS_CERT_FILE: ${cert} is not valid until ${x509.validFrom}`);
  for (const name of hostnames(env)) {
    const named = isIP(name) ? x509.checkIP(name) : x509.checkHost(name);
    if (!named)
      throw new UsageError(
        `EDGE_TLS_CERT_FILE: ${cert} does not name ${name} (EDGE_HOSTNAMES); it names ${x509.subjectAltName ?? 'nothing'}`,
      );
  }
  return { cert, key };
}
