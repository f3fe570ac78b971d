/** Errors shared across layers. */

/** The user asked for something malformed: the message says what to type instead. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Something is wrong with one path (a socket, a file): the message starts with the path, then what is wrong. */
export class PathError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}
