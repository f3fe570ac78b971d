/**
 * The bearer token of the HTTP front: read from its file, or created there (random, base64url, mode 0600,
 * its folder 0700) when missing. `wx` makes two first starts agree on one token instead of overwriting.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

export class TokenFileError extends Error {
  override readonly name = "ConfigError";
}

export function ensureToken(file: string): string {
  const existing = readToken(file);
  if (existing !== null) return existing;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new TokenFileError(`http.token_file ${file}: cannot create it (${(e as Error).message})`);
  }
  const token = readToken(file);
  if (token === null) throw new TokenFileError(`http.token_file ${file} is empty: put a token in it or delete it to have one made`);
  return token;
}

function readToken(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new TokenFileError(`http.token_file ${file}: cannot read it (${(e as Error).message})`);
  }
  // A token others can read is a token others have: refuse it rather than serve with it.
  if ((statSync(file).mode & 0o077) !== 0) throw new TokenFileError(`http.token_file ${file} is readable by others: chmod 600 it`);
  const token = text.trim();
  return token === "" ? null : token;
}
