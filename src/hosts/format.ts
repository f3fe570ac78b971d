/** The operations onboarding needs from a file format; JSON(C) and TOML implement them without re-serialising files. */
import { jsonFormat } from "./json-edit.ts";
import { tomlFormat } from "./toml-edit.ts";

export interface EntryEdit {
  /** Concrete path of the servers object, e.g. ["mcpServers"] or ["projects", "/src/app", "mcpServers"]. */
  container: string[];
  name: string;
  /** The complete new entry. */
  entry: Record<string, unknown>;
}

export interface FileFormat {
  /** Plain data; throws an Error whose message says where the syntax is wrong. */
  parse(text: string): unknown;
  /** Swaps the listed entries; any it cannot place safely is returned in `failed` and left as it was. */
  replaceEntries(text: string, edits: EntryEdit[]): { text: string; failed: { index: number; reason: string }[] };
  /** The same text with env/header values replaced by "***", for showing diffs. */
  maskSecrets(text: string): string;
}

export function formatOf(kind: "json" | "toml"): FileFormat {
  return kind === "json" ? jsonFormat : tomlFormat;
}
