/**
 * What the router tells the runtime about how a server can be shared (the runtime decides what to do with it
 * when the server's `share` is "auto").
 */
export type SharePolicy = "shared" | "per-workspace" | "per-client" | "session-aware";

export interface SharingHint {
  policy: SharePolicy;
  reason: string;
}
