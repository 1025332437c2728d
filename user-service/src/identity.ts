// Which replica answered: every response carries the hostname (the container id under
// Docker), the address it resolves to, and the version it runs, so a person curling through
// the edge sees the load being spread, and a rollout or a canary taking its share.
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';

export interface Identity {
  hostname: string;
  resolvedname: string | null;
  version: string;
  fields(): { hostname: string; resolvedname: string | null; version: string };
}

export async function resolveIdentity(version: string, name = hostname()): Promise<Identity> {
  let resolvedname: string | null = null;
  try {
    resolvedname = (await lookup(name, { family: 4 })).address;
  } catch {
    // A host whose name does not resolve still serves; it reports null.
  }
  return {
    hostname: name,
    resolvedname,
    version,
    fields: () => ({ hostname: name, resolvedname, version }),
  };
}
