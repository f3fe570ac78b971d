/** Errors shared across layers. */

/** The user asked for something malformed: the message says what to type instead. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
