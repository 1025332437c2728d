// The canary's state while one runs, in one file (.mesh/canary.json) read in one place: its
// weight, the environment it was started with (promote carries it over), the key the mesh's own
// tools pin a request to it with (x-canary: KEY, new for each canary), and whether clients may
// pin themselves to it with x-canary: 1 (make canary CANARY_PIN=1; off by default: an unreleased
// build is not every client's to pick).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { STATE_DIR } from './paths.js';

export const CANARY_STATE = `${STATE_DIR}canary.json`;

export interface CanaryState {
  weight: number;
  env: Record<string, string>;
  key: string;
  clientsPin: boolean;
}

/** The state file's content, whether or not the canary's containers still run. */
export function readCanaryState(): CanaryState | null {
  if (!existsSync(CANARY_STATE)) return null;
  const state = JSON.parse(readFileSync(CANARY_STATE, 'utf8')) as Partial<CanaryState>;
  // A state written before the key existed: a new one (make canary writes it again).
  return { weight: 0, env: {}, clientsPin: false, ...state, key: state.key || newCanaryKey() };
}

export const writeCanaryState = (state: CanaryState): void =>
  writeFileSync(CANARY_STATE, JSON.stringify(state, null, 2), { mode: 0o600 });

export const removeCanaryState = (): void => rmSync(CANARY_STATE, { force: true });

export const newCanaryKey = (): string => randomBytes(16).toString('hex');
