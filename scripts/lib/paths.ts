// Where the repository is, computed once: every tool and command that reads or writes a file of
// the checkout (.env, secrets/, envoy/, .mesh/) starts from here, so that moving this library
// (or building it to JavaScript elsewhere) changes one line, not five.
export const ROOT = new URL('../..', import.meta.url).pathname;
/** What the tools write of the running mesh (the edges' live routes, rendered manifests, the dev
 * mark); make clean removes it with .env. */
export const STATE_DIR = `${ROOT}.mesh/`;
/** The edges' live routes and clusters on compose (mounted into each edge at /etc/envoy/live). */
export const EDGE_LIVE_DIR = `${STATE_DIR}edge`;
