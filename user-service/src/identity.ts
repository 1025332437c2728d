// Which replica answered: every response carries the hostname (the container id under
// Docker) and the address it resolves to, so a person curling through the edge sees the
// load being spread.
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';

export interface Identity {
  hostname: string;
  resolvedname: string | null;
  fields(): { hostname: string; resolvedname: string | null };
}

export async function resolveIdentity(name = hostname()): Promise<Identity> {
  let resolvedname: string | null = null;
  try {
    resolvedname = (await lookup(name, { family: 4 })).address;
  } catch {
    // A host whose name does not resolve still serves; it reports null.
  }
  return { hostname: name, resolvedname, fields: () => ({ hostname: name, resolvedname }) };
}
