/**
 * The 2026-07-28 era's wire facts, as pure helpers: which versions are modern, the `_meta` envelope every
 * modern request carries, and the translations between a 2025 `initialize` result and a `server/discover`
 * result (each era's description of the same server).
 */

/** Protocol versions without the `initialize` handshake. */
export const MODERN_VERSIONS: readonly string[] = ["2026-07-28"];
export const MODERN_VERSION = "2026-07-28";
/** The newest 2025-era version: what the mux asks a backend for when no legacy client has asked yet. */
export const LATEST_LEGACY_VERSION = "2025-11-25";

export const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
export const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";
export const CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo";
export const LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel";
export const SUBSCRIPTION_ID_KEY = "io.modelcontextprotocol/subscriptionId";
export const SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo";

type Obj = Record<string, unknown>;

export function isModernVersion(v: unknown): boolean {
  return typeof v === "string" && MODERN_VERSIONS.includes(v);
}

/** A request's `_meta`, or undefined. */
export function metaOf(msg: Obj): Obj | undefined {
  const params = msg.params;
  if (typeof params !== "object" || params === null) return undefined;
  const meta = (params as Obj)._meta;
  return typeof meta === "object" && meta !== null ? (meta as Obj) : undefined;
}

/** The modern version a message claims in its envelope, or undefined (a 2025-era message). */
export function claimedVersion(msg: Obj): string | undefined {
  const v = metaOf(msg)?.[PROTOCOL_VERSION_KEY];
  return isModernVersion(v) ? (v as string) : undefined;
}

/** The envelope the mux adds for a 2025 client, built from its `initialize` parameters. */
export function envelopeFromInitialize(init: Obj | null, fallbackInfo: { name: string; version: string }): Obj {
  return {
    [PROTOCOL_VERSION_KEY]: MODERN_VERSION,
    [CLIENT_CAPABILITIES_KEY]: (init?.capabilities as Obj | undefined) ?? {},
    [CLIENT_INFO_KEY]: (init?.clientInfo as Obj | undefined) ?? fallbackInfo,
  };
}

/** `msg` (a 2025 client's request) with the envelope added under `params._meta`; keys the client set win. */
export function withEnvelope(msg: Obj, envelope: Obj): Obj {
  const params = (typeof msg.params === "object" && msg.params !== null ? msg.params : {}) as Obj;
  const meta = (typeof params._meta === "object" && params._meta !== null ? params._meta : {}) as Obj;
  return { ...msg, params: { ...params, _meta: { ...envelope, ...meta } } };
}

/** True when a backend's answer to `initialize` says it serves only modern versions. */
export function refusesLegacy(error: unknown): boolean {
  const supported = (error as { data?: { supported?: unknown } } | null)?.data?.supported;
  return Array.isArray(supported) && supported.length > 0 && supported.every((v) => isModernVersion(v));
}

/** A `server/discover` result describing a 2025 backend from its `initialize` result. */
export function discoverFromInitialize(init: Obj): Obj {
  const out: Obj = {
    resultType: "complete",
    supportedVersions: [MODERN_VERSION],
    capabilities: init.capabilities ?? {},
    ttlMs: 0,
    cacheScope: "public",
  };
  if (init.serverInfo !== undefined) out._meta = { [SERVER_INFO_KEY]: init.serverInfo };
  if (typeof init.instructions === "string") out.instructions = init.instructions;
  return out;
}

/** A 2025 `initialize` result describing a modern backend from its `server/discover` result. */
export function initializeFromDiscover(discover: Obj, version: string): Obj {
  const meta = (discover._meta ?? {}) as Obj;
  const out: Obj = {
    protocolVersion: version,
    capabilities: discover.capabilities ?? {},
    serverInfo: meta[SERVER_INFO_KEY] ?? { name: "unknown", version: "0" },
  };
  if (typeof discover.instructions === "string") out.instructions = discover.instructions;
  return out;
}

/** List methods whose modern results must carry `ttlMs` and `cacheScope`. */
const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);

/**
 * A 2025 backend's result shaped for a modern client: `resultType` always, and `ttlMs: 0` with
 * `cacheScope: "private"` on cacheable results (the backend gave no hint, so nothing may be reused).
 */
export function shapeForModern(method: string, result: Obj): Obj {
  const out: Obj = { ...result };
  if (out.resultType === undefined) out.resultType = "complete";
  if (CACHEABLE.has(method)) {
    if (out.ttlMs === undefined) out.ttlMs = 0;
    if (out.cacheScope === undefined) out.cacheScope = "private";
  }
  return out;
}

/** A modern backend's result shaped for a 2025 client: the modern-only fields removed. */
export function shapeForLegacy(result: Obj): Obj {
  const { resultType: _r, ttlMs: _t, cacheScope: _c, ...rest } = result;
  return rest;
}
