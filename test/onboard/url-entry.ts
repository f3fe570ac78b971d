/** Reading a rewired or snippet URL entry back, in each host's own spelling (shared by the onboarding tests). */
import { expect } from "bun:test";

/** Each host's own spelling of a Streamable HTTP entry, read back. */
export function urlEntry(host: string, raw: Record<string, any>): { url: string; headers: unknown } {
  switch (host) {
    case "claude-code":
    case "vscode":
      expect(raw.type).toBe("http");
      return { url: raw.url, headers: raw.headers };
    case "cursor":
      expect(raw.type).toBeUndefined();
      return { url: raw.url, headers: raw.headers };
    case "gemini":
      expect(raw.url).toBeUndefined(); // url would mean SSE to Gemini CLI
      return { url: raw.httpUrl, headers: raw.headers };
    case "windsurf":
      return { url: raw.serverUrl, headers: raw.headers };
    case "codex":
      expect(raw.headers).toBeUndefined();
      return { url: raw.url, headers: raw.http_headers };
    default:
      throw new Error(`${host} takes no URL entries`);
  }
}
