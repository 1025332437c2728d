// The conformance checks by name: the rows of the table (conformance/table.ts), each an ava test
// of conformance/suite.ts.
export const CHECKS = {
  walk: 'walk-through over HTTPS',
  https: 'HTTPS: TLS 1.2/1.3 only, h2, HSTS, the CA given',
  plain: 'plain HTTP beyond loopback: 308 to HTTPS or closed',
  admin: 'admin interfaces closed to clients and neighbours',
  identity: "sidecars and database refuse a workload without the mesh's identity",
  hardening: 'hardened: read-only root, no capabilities, no new privileges, no setuid',
  split: "usersvc: Node and Envoy as different users, the key Envoy's only",
  workers: 'edge: EDGE_WORKERS Envoy workers each (1 by default)',
  headers: "a client's x-envoy-*, x-forwarded-for and x-canary change nothing",
  tokens:
    'tokens: ES256 verified against the JWKS; forged ones refused at the edge; logout revokes',
  limits: 'per-client limits: 429 past the burst, whatever X-Forwarded-For says',
  removal: 'a replica removed under load: 0 failed',
} as const;
export type Check = keyof typeof CHECKS;
