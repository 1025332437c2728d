// What meshctl up, dev and bench do before they start or roll the mesh: base images (found,
// pulled, or built by the offline kit), the install's secrets where missing, the images built.
// The edge's settings are checked first, and that no other checkout's mesh is running: a bad
// one is one line, before anything is built.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { refuseOtherCheckout } from '../lib/checkout.js';
import { buildImages, DEV_MARK, useImagesFile } from '../lib/compose.js';
import { runShown } from '../lib/run.js';
import { plainHttpFromEnv } from '../lib/edge-config.js';
import { userCertificate } from '../lib/edge-tls.js';
import { meshCa } from '../lib/secrets.js';
import { loadSettings } from '../lib/settings.js';

/** The edge's settings are usable (EDGE_HTTP, your certificate): checked before anything runs. */
function edgeSettingsChecked(): void {
  const settings = loadSettings();
  plainHttpFromEnv(settings);
  userCertificate(settings);
}

export async function prepare({ dev, observe }: { dev: boolean; observe?: string }): Promise<void> {
  edgeSettingsChecked();
  await refuseOtherCheckout();
  // With the observability profile, its base images too.
  await runShown('scripts/base-images.sh', [], { ...process.env, OBSERVE: observe ?? '' });
  useImagesFile(); // the kit may have just built them
  mkdirSync(dirname(DEV_MARK), { recursive: true });
  if (dev) writeFileSync(DEV_MARK, '');
  else rmSync(DEV_MARK, { force: true });
  await meshCa(['init']);
  await buildImages();
}
