// The policy error on its own, so that code which only catches it (the CLI)
// need not load the profile parser.

/** A profile is invalid, or asks for something tslinux cannot do. `path` is the JSON path of the offending value. */
export class PolicyError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'PolicyError';
  }
}
