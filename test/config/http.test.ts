/** The [http] table's pure rules: listen addresses, loopback, defaults, `--http` over `listen`. */
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/config/errors.ts";
import { clientBase, HTTP_DEFAULTS, isLoopback, parseListen, resolveHttp } from "../../src/config/http.ts";

describe("parseListen", () => {
  test.each([
    ["127.0.0.1:7337", "127.0.0.1", 7337],
    ["localhost:80", "localhost", 80],
    ["[::1]:7337", "::1", 7337],
    [":7337", "127.0.0.1", 7337],
    ["0.0.0.0:0", "0.0.0.0", 0],
  ])("%s", (addr, hostname, port) => expect(parseListen(addr)).toEqual({ hostname, port }));
  test.each(["7337", "127.0.0.1", "127.0.0.1:70000", "::1:7337", "host:port", ""])("refuses %p", (addr) => expect(parseListen(addr)).toBeNull());
});

test("loopback: 127/8, ::1, localhost; nothing else", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"]) expect(isLoopback(h)).toBe(true);
  for (const h of ["0.0.0.0", "::", "192.168.1.2", "10.0.0.1", "example.com", "128.0.0.1"]) expect(isLoopback(h)).toBe(false);
});

describe("resolveHttp", () => {
  const table = { ...HTTP_DEFAULTS, allowed_origins: [] as string[] };
  test("off without listen and without --http", () => expect(resolveHttp(table, undefined, "/c/mux.toml", "/c")).toBeNull());
  test("--http wins over listen; token_file resolved beside the config, ~ expanded", () => {
    const h = resolveHttp({ ...table, listen: "127.0.0.1:1", token_file: "tok" }, "127.0.0.1:2", "/c/mux.toml", "/c")!;
    expect(h.port).toBe(2);
    expect(h.tokenFile).toBe("/c/tok");
    const home = resolveHttp({ ...table, listen: ":3" }, undefined, "/c/mux.toml", "/c")!;
    expect(home.tokenFile).toBe(`${process.env.HOME}/.rmcp-mux/http-token`);
    expect(home.sessionIdleMs).toBe(600000);
  });
  test("a non-loopback address needs allow_remote", () => {
    expect(() => resolveHttp({ ...table, listen: "0.0.0.0:1" }, undefined, "/c/mux.toml", "/c")).toThrow(ConfigError);
    expect(() => resolveHttp(table, "10.0.0.1:1", "/c/mux.toml", "/c")).toThrow("--http 10.0.0.1:1 is not a loopback address");
    expect(resolveHttp({ ...table, listen: "0.0.0.0:1", allow_remote: true }, undefined, "/c/mux.toml", "/c")!.allowRemote).toBe(true);
  });
});

test("clientBase: an any-address listen is reached on loopback; IPv6 in brackets", () => {
  expect(clientBase({ hostname: "0.0.0.0", port: 7 })).toBe("http://127.0.0.1:7");
  expect(clientBase({ hostname: "::", port: 7 })).toBe("http://[::1]:7");
  expect(clientBase({ hostname: "localhost", port: 7 })).toBe("http://localhost:7");
});
