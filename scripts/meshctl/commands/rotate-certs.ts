// meshctl rotate-certs: every service a new certificate, on the running mesh.
import type { Command } from '../../lib/cli.js';
import { edgeAdmins } from '../../lib/edges.js';
import { meshCa } from '../../lib/secrets.js';
import { until } from '../../lib/wait.js';

/** The serial numbers of the certificates the edges present ('' where none answers). */
async function edgeSerials(): Promise<string> {
  const serials = await Promise.all(
    (await edgeAdmins()).map(async (edge) => {
      try {
        const certs = JSON.parse(await edge.call('/certs')) as {
          certificates: { cert_chain: { serial_number: string }[] }[];
        };
        return certs.certificates
          .flatMap((c) => c.cert_chain.map((x) => x.serial_number))
          .join(' ');
      } catch {
        return '';
      }
    }),
  );
  return serials.join(' ');
}

export const command: Command = {
  name: 'rotate-certs',
  group: 'change',
  summary:
    'issue every service a new certificate on the running mesh (the proxies reload them live)',
  about: `The proxies reload their certificates through SDS on their own; this waits until every
edge presents its new one. A replica started afterwards mounts the new ones too.`,
  async run() {
    const before = await edgeSerials();
    await meshCa(['rotate']);
    const now = await until(
      30_000,
      async () => {
        const serials = await edgeSerials();
        const old = before.split(' ').filter(Boolean);
        return serials && !serials.split(' ').some((s) => old.includes(s)) ? serials : undefined;
      },
      () => `an edge still presents an old certificate (${before}) after 30 s`,
    );
    console.log(
      `the edges present their new certificates (serial ${now}); sidecars reload theirs the same way`,
    );
  },
};
