/** What each protocol version of the initialize era defines (src/router/versions.ts), as pure functions. */
import { describe, expect, test } from "bun:test";
import {
  answerVersion,
  capabilitiesFor,
  defines,
  GREETING_VERSION,
  isLegacyVersion,
  LEGACY_VERSIONS,
  requestAllowed,
  shapeHandshake,
  supports,
  type Feature,
} from "../../src/router/versions.ts";

/** For each feature, the versions that have it, read off the specification's changelogs. */
const HAS: Record<Feature, string[]> = {
  batches: ["2025-03-26"],
  completions: ["2025-03-26", "2025-06-18", "2025-11-25"],
  elicitation: ["2025-06-18", "2025-11-25"],
  "elicitation-url": ["2025-11-25"],
  tasks: ["2025-11-25"],
  "sampling-tools": ["2025-11-25"],
};

describe("versions", () => {
  test("the known versions are the four initialize-era revisions, oldest first; the mux greets with the newest", () => {
    expect([...LEGACY_VERSIONS]).toEqual(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]);
    expect(GREETING_VERSION).toBe("2025-11-25");
    expect(isLegacyVersion("2025-06-18")).toBe(true);
    expect(isLegacyVersion("2026-07-28")).toBe(false);
    expect(isLegacyVersion(20250618)).toBe(false);
  });

  test("supports: each feature in exactly the versions whose changelog adds it (and, for batches, until it is removed)", () => {
    for (const [feature, versions] of Object.entries(HAS) as Array<[Feature, string[]]>) {
      const got: string[] = LEGACY_VERSIONS.filter((v) => supports(v, feature));
      expect({ feature, got }).toEqual({ feature, got: versions });
    }
  });

  test("an unknown or missing version supports nothing", () => {
    for (const v of ["", "2024-10-07", "2099-01-01", "2026-07-28", "latest"]) {
      for (const f of Object.keys(HAS) as Feature[]) expect({ v, f, ok: supports(v, f) }).toEqual({ v, f, ok: false });
    }
  });

  test("defines: methods of every revision everywhere; elicitation from 2025-06-18; tasks and elicitation/complete from 2025-11-25", () => {
    for (const v of LEGACY_VERSIONS) {
      expect(defines(v, "tools/call")).toBe(true);
      expect(defines(v, "sampling/createMessage")).toBe(true);
      expect(defines(v, "notifications/message")).toBe(true);
    }
    expect(LEGACY_VERSIONS.filter((v) => defines(v, "elicitation/create"))).toEqual(["2025-06-18", "2025-11-25"]);
    for (const m of ["tasks/get", "tasks/result", "tasks/cancel", "tasks/list", "notifications/tasks/status", "notifications/elicitation/complete"]) {
      expect({ m, in: LEGACY_VERSIONS.filter((v) => defines(v, m)) }).toEqual({ m, in: ["2025-11-25"] });
    }
  });

  test("requestAllowed: URL-mode elicitation and sampling with tools need 2025-11-25", () => {
    expect(requestAllowed("2025-06-18", "elicitation/create", { message: "m", requestedSchema: {} })).toBe(true);
    expect(requestAllowed("2025-06-18", "elicitation/create", { mode: "url", url: "https://x", message: "m" })).toBe(false);
    expect(requestAllowed("2025-11-25", "elicitation/create", { mode: "url", url: "https://x", message: "m" })).toBe(true);
    expect(requestAllowed("2025-03-26", "elicitation/create", { message: "m" })).toBe(false);
    expect(requestAllowed("2024-11-05", "sampling/createMessage", { messages: [] })).toBe(true);
    expect(requestAllowed("2025-06-18", "sampling/createMessage", { messages: [], tools: [] })).toBe(false);
    expect(requestAllowed("2025-11-25", "sampling/createMessage", { messages: [], tools: [] })).toBe(true);
    expect(requestAllowed("2024-11-05", "roots/list", undefined)).toBe(true);
  });

  test("answerVersion: the client's own when the backend's is at least as new, both known; else the backend's", () => {
    expect(answerVersion("2024-11-05", "2025-11-25")).toBe("2024-11-05");
    expect(answerVersion("2025-06-18", "2025-11-25")).toBe("2025-06-18");
    expect(answerVersion("2025-11-25", "2025-11-25")).toBe("2025-11-25");
    expect(answerVersion("2025-11-25", "2025-06-18")).toBe("2025-06-18");
    expect(answerVersion("2099-01-01", "2025-11-25")).toBe("2025-11-25");
    expect(answerVersion("", "2025-11-25")).toBe("2025-11-25");
    expect(answerVersion("2024-11-05", "2024-10-07")).toBe("2024-10-07");
  });

  test("capabilitiesFor removes what the client's version does not define and never adds anything", () => {
    const caps = { tools: { listChanged: true }, completions: {}, tasks: { list: {} }, logging: {} };
    expect(capabilitiesFor(caps, "2025-11-25")).toBe(caps);
    expect(capabilitiesFor(caps, "2025-06-18")).toEqual({ tools: { listChanged: true }, completions: {}, logging: {} });
    expect(capabilitiesFor(caps, "2024-11-05")).toEqual({ tools: { listChanged: true }, logging: {} });
    expect(caps.tasks).toEqual({ list: {} }); // the cached original is untouched
    const bare = { tools: {} };
    expect(capabilitiesFor(bare, "2024-11-05")).toBe(bare);
  });

  test("a kept handshake as a client of each version is answered (the lobby and the router share this)", () => {
    const raw = '{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"tasks":{"list":{}},"completions":{}},"serverInfo":{"name":"s","version":"1"}}';
    expect(shapeHandshake(raw, "2025-11-25")).toEqual({ version: "2025-11-25", result: raw });
    const old = shapeHandshake(raw, "2024-11-05");
    expect(old.version).toBe("2024-11-05");
    expect(JSON.parse(old.result)).toEqual({ protocolVersion: "2024-11-05", capabilities: { tools: {} }, serverInfo: { name: "s", version: "1" } });
    const newer = shapeHandshake('{"protocolVersion":"2025-03-26","capabilities":{}}', "2025-11-25");
    expect(newer.version).toBe("2025-03-26"); // the server's version when it cannot serve the asked one
  });
});
