// The edge's published ports, as the settings name them: the one reader of EDGE_PORT,
// EDGE_HTTPS_PORT and EDGE_ADMIN_PORT for every tool. Each is a port, or ADDRESS:PORT to
// publish on one address only (an IPv6 address in brackets: [::1]:8000).
import { UsageError } from './errors.js';

export const EDGE_PORT_DEFAULTS = {
  EDGE_PORT: 8000,
  EDGE_HTTPS_PORT: 8443,
  EDGE_ADMIN_PORT: 8001,
} as const;
export type EdgePortSetting = keyof typeof EDGE_PORT_DEFAULTS;

export interface Published {
  /** The address it is published on as given, '' where none is (every address, or loopback for admin). */
  address: string;
  port: number;
}

/** One of the edge's port settings (empty or missing: its default), checked. */
export function publishedPort(
  settings: Partial<Record<EdgePortSetting, string>>,
  name: EdgePortSetting,
): Published {
  const raw = settings[name]?.trim() || String(EDGE_PORT_DEFAULTS[name]);
  const colon = raw.lastIndexOf(':');
  const address = colon < 0 ? '' : raw.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(raw.slice(colon + 1));
  if (!/^\d{1,5}$/.test(raw.slice(colon + 1)) || port < 1 || port > 65535)
    throw new UsageError(`${name} must be a port, or ADDRESS:PORT, got "${raw}"`);
  return { address, port };
}

/** Where a client on this host reaches a published port: its address, or loopback for "every address". */
export function hostReach(published: Published): string {
  const { address, port } = published;
  if (!address || address === '0.0.0.0') return `127.0.0.1:${port}`;
  if (address === '::') return `[::1]:${port}`;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
