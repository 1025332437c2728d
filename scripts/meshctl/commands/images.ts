// meshctl images: the offline kit, for machines with no registry.
import type { Command } from '../../lib/cli.js';
import { runShown } from '../../lib/run.js';

export const command: Command = {
  name: 'images',
  group: 'use',
  summary: 'offline kit: build local stand-ins for the base images (no registry needed)',
  about:
    'Debian by debootstrap, Node, Envoy, PostgreSQL, Prometheus and Zipkin on it; written to .images.env.',
  async run() {
    await runShown('scripts/offline-images.sh');
  },
};
