// How an operator command fails on purpose, defined here once (meshctl/main.ts prints them):
// - UsageError: an argument or setting the user gave is not usable. One line, exit 2.
// - Failure: the mesh, the engine or a file did not do what the command needed. One line
//   saying why, exit 1; the mesh serves as before. A tool's own kind of failure extends it
//   (RolloutFailed here; DockerError, AdminError, MeshDown, BadBackup beside their code).
// Anything else is a bug here: one line too, with its stack under meshctl --debug.
export class UsageError extends Error {}
export class Failure extends Error {}
/** The mesh did not get where a rollout was taking it. */
export class RolloutFailed extends Failure {}
