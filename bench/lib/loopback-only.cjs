/**
 * Preload for peer gateways (`node --require bench/lib/loopback-only.cjs …`): a server that calls
 * `listen(port)` without a host would accept connections on every interface; the benchmark keeps
 * everything on loopback, so a missing host (or an "any" address) becomes 127.0.0.1.
 */
"use strict";
const net = require("node:net");
const ANY = new Set([undefined, null, "", "0.0.0.0", "::", "[::]"]);
const original = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(...args) {
  const first = args[0];
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (typeof args[1] !== "string" || ANY.has(args[1])) {
      const rest = typeof args[1] === "string" ? args.slice(2) : args.slice(1);
      return original.call(this, Number(first), "127.0.0.1", ...rest);
    }
  } else if (first && typeof first === "object" && !Array.isArray(first) && first.port !== undefined && first.path === undefined) {
    if (ANY.has(first.host)) args[0] = { ...first, host: "127.0.0.1" };
  }
  return original.apply(this, args);
};
