// The two ways an operator command fails on purpose: a setting the user gave is not usable
// (UsageError: one line, exit 2), or the mesh did not get where the command was taking it
// (RolloutFailed: one line saying why, exit 1; the mesh serves as before).
export class UsageError extends Error {}
export class RolloutFailed extends Error {}
