// The scripts a conformance check runs where a client or a neighbour stands (a network
// namespace of the test's, a container or Pod beside the mesh): plain ES modules for node, so
// they run on the host's node and in the service's image alike. Each prints one JSON line.

/**
 * `probe(url, dir)`: one GET, no server certificate checked, with the identity (key.pem,
 * cert.pem) in a mounted directory or none, 5 s at most: { status, location, body } or
 * { error }. `pg(dir)`: a PostgreSQL start-up over TLS to the mesh's database, with that
 * identity or none: whether the handshake finished and how many bytes the server answered.
 * (compose's own tests use them too: compose/test/helpers.ts.)
 */
export const PROBE_LIB = `
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
const identity = (dir) => (dir ? { key: fs.readFileSync(dir + '/key.pem'), cert: fs.readFileSync(dir + '/cert.pem') } : {});
const probe = (url, dir) => new Promise((resolve) => {
  const get = url.startsWith('https:') ? https.get : http.get;
  const req = get(url, { ...identity(dir), rejectUnauthorized: false, timeout: 5000, agent: false }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode, location: res.headers.location, body }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve({ error: String(e.code ?? e.message) }));
});
const pg = (dir) => new Promise((resolve) => {
  const params = Buffer.from('user\\0usersvc\\0database\\0users\\0\\0');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(196608, 4);
  let bytes = 0;
  let handshake = false;
  const s = tls.connect({ host: 'postgres', port: 5432, ...identity(dir), rejectUnauthorized: false }, () => {
    handshake = true;
    s.write(Buffer.concat([head, params]));
  });
  s.setTimeout(5000, () => s.destroy());
  s.on('data', (d) => { bytes += d.length; s.destroy(); }).on('error', () => undefined).on('close', () => resolve({ handshake, bytes }));
});
`;

/** Every URL of argv, probed one after another: a JSON array of what each answered. */
export const PROBE_URLS = `${PROBE_LIB}
const out = [];
for (const url of process.argv.slice(2)) out.push(await probe(url));
console.log(JSON.stringify(out));
`;

/**
 * argv: URL COUNT CONCURRENCY. COUNT GETs of URL on kept-alive connections, CONCURRENCY at
 * once, no certificate checked, each claiming another address in X-Forwarded-For (a client
 * after a fresh rate-limit bucket per request): a JSON array of their statuses (0: no answer).
 */
export const BURST = `
import https from 'node:https';
const [url, count, concurrency] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false });
let n = 0;
const one = () => new Promise((resolve) => {
  n++;
  const headers = { 'x-forwarded-for': '198.51.' + ((n >> 8) & 255) + '.' + (n & 255) };
  const req = https.get(url, { agent, headers, timeout: 10000 }, (res) => res.resume().on('end', () => resolve(res.statusCode)));
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => resolve(0));
});
let next = 0;
const statuses = [];
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next++ < count) statuses.push(await one());
}));
agent.destroy();
console.log(JSON.stringify(statuses));
`;
