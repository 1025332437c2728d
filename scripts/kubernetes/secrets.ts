// The Secrets the Kubernetes manifests name, made from an install's secrets/ directory and
// printed as YAML for kubectl (meshctl kubernetes secrets | kubectl apply -n usermesh -f -);
// nothing of them is written anywhere else. The certificates are the long-lived set
// (secrets/static/): apply again to renew, the proxies load a changed Secret live.
import { readFileSync } from 'node:fs';
import { RolloutFailed } from '../lib/errors.js';

/** One Secret manifest: each file base64-encoded under its key. */
function secret(dir: string, name: string, files: Record<string, string>, type = 'Opaque'): string {
  const data = Object.entries(files).map(([key, path]) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(`${dir}/${path}`);
    } catch {
      bytes = Buffer.alloc(0);
    }
    if (!bytes.length)
      throw new RolloutFailed(`${dir}/${path} is missing or empty (meshctl secrets makes it)`);
    return `  ${key}: ${bytes.toString('base64')}`;
  });
  return [
    '---',
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    `type: ${type}`,
    'data:',
    ...data,
  ].join('\n');
}

export function secretsManifest(dir: string): string {
  const mesh = (service: string) =>
    secret(dir, `${service}-mesh`, {
      'ca.pem': `static/${service}/ca.pem`,
      'cert.pem': `static/${service}/cert.pem`,
      'key.pem': `static/${service}/key.pem`,
    });
  return `${[
    ...['edge', 'usersvc', 'postgres'].map(mesh),
    // The edge's HTTPS certificate: the install's CA's, or yours as make up installed it.
    secret(
      dir,
      'edge-tls',
      { 'tls.crt': 'static/edge-public/cert.pem', 'tls.key': 'static/edge-public/key.pem' },
      'kubernetes.io/tls',
    ),
    secret(dir, 'usersvc-secrets', {
      db_password: 'usersvc/db_password',
      token_key: 'token-keys/current.pem',
      jwks: 'jwks.json',
    }),
    // The public keys the edge checks tokens against (jwt_authn).
    secret(dir, 'edge-tokens', { 'jwks.json': 'jwks.json' }),
    secret(dir, 'postgres-secrets', {
      superuser_password: 'postgres/superuser_password',
      usersvc_password: 'postgres/usersvc_password',
    }),
  ].join('\n')}\n`;
}
