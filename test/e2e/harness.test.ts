/**
 * Self-test of the e2e harness (no daemon needed): RawClient framing, partial writes, exact id matching,
 * writeConfig output, waitFor / pidAlive.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readFileSync } from "node:fs";
import path from "node:path";
import { TextLines } from "../../src/runtime/text-lines.ts";
import { cleanup, FIXTURE, pidAlive, RawClient, tempDir, waitFor, writeConfig } from "./harness.ts";

afterEach(cleanup);

type Conn = { lines: TextLines; bytes: number };

function listen(
  sockPath: string,
  onLine: (s: Socket<Conn>, line: string) => void,
  onOpen?: (s: Socket<Conn>) => void,
) {
  return Bun.listen<Conn>({
    unix: sockPath,
    socket: {
      binaryType: "uint8array",
      open(s) {
        s.data = { lines: new TextLines((line) => onLine(s, line)), bytes: 0 };
        onOpen?.(s);
      },
      data(s, chunk: Uint8Array) {
        s.data.bytes += chunk.length;
        s.data.lines.push(chunk);
      },
    },
  });
}

describe("harness", () => {
  test("RawClient reassembles lines split across chunks and matches ids exactly", async () => {
    const dir = tempDir();
    const sock = path.join(dir, "t.sock");
    const server = listen(
      sock,
      () => {},
      (s) => {
        // responses for "1" and 1 in separate, oddly split writes
        const payload =
          '{"jsonrpc":"2.0","id":1,"result":{"v":"number"}}\r\n{"jsonrpc":"2.0","id":"1","result":{"v":"str✓"}}\n';
        const bytes = new TextEncoder().encode(payload);
        const cut = bytes.indexOf(0xe2) + 1; // inside the multi-byte check mark
        s.write(bytes.subarray(0, 10));
        queueMicrotask(() => {
          s.write(bytes.subarray(10, cut));
          setTimeout(() => s.write(bytes.subarray(cut)), 5);
        });
      },
    );
    try {
      const c = await RawClient.connect(sock);
      const str = await c.response("1");
      const num = await c.response(1);
      expect(str.msg.result.v).toBe("str✓");
      expect(num.msg.result.v).toBe("number");
      expect(num.raw).toBe('{"jsonrpc":"2.0","id":1,"result":{"v":"number"}}');
      await c.close();
      expect(c.isClosed).toBe(true);
    } finally {
      server.stop(true);
    }
  });

  test("RawClient.send delivers every byte of a large burst (partial writes finished on drain)", async () => {
    const dir = tempDir();
    const sock = path.join(dir, "big.sock");
    let lines = 0;
    let lastLen = 0;
    const server = listen(sock, (s, line) => {
      lines++;
      lastLen = line.length;
      if (lines === 3) s.write('{"jsonrpc":"2.0","id":"done","result":{}}\n');
    });
    try {
      const c = await RawClient.connect(sock);
      const big = "x".repeat(8 * 1024 * 1024);
      c.send({ jsonrpc: "2.0", method: "a", params: { big } });
      c.send({ jsonrpc: "2.0", method: "b", params: { big } });
      c.send('{"jsonrpc":"2.0","method":"c"}');
      expect(c.pendingBytes).toBeGreaterThan(0); // the kernel did not take 16 MB at once
      await c.flushed();
      expect(c.pendingBytes).toBe(0);
      await c.response("done", 10_000);
      expect(lines).toBe(3);
      expect(lastLen).toBe('{"jsonrpc":"2.0","method":"c"}'.length);
    } finally {
      server.stop(true);
    }
  });

  test("next() times out with a useful message; request() rejects when the connection closes", async () => {
    const dir = tempDir();
    const sock = path.join(dir, "c.sock");
    const server = listen(sock, (s) => s.end());
    try {
      const c = await RawClient.connect(sock);
      await expect(c.next((r) => r.msg.id === 42, 50, "id 42")).rejects.toThrow(/timed out after 50 ms waiting for id 42/);
      await expect(c.request("ping", undefined, 1)).rejects.toThrow(/closed/);
      await c.closed;
    } finally {
      server.stop(true);
    }
  });

  test("writeConfig writes the fixture defaults and overrides", () => {
    const cfg = writeConfig(undefined, { a: {}, b: { lazy_start: true, env: { X: "1" } } }, { status_socket: "/tmp/x.sock" });
    const parsed = Bun.TOML.parse(readFileSync(cfg.configPath, "utf8")) as any;
    expect(parsed.status_socket).toBe("/tmp/x.sock");
    expect(parsed.servers.a.cmd).toBe(process.execPath);
    expect(parsed.servers.a.args).toEqual([FIXTURE]);
    expect(parsed.servers.a.socket).toBe(path.join(cfg.dir, "a.sock"));
    expect(parsed.servers.b.lazy_start).toBe(true);
    expect(parsed.servers.b.env).toEqual({ X: "1" });
    expect(cfg.sockets.b!.length).toBeLessThan(100);
  });

  test("waitFor and pidAlive", async () => {
    const p = Bun.spawn([process.execPath, "-e", "setTimeout(()=>{}, 100000)"]);
    expect(pidAlive(p.pid)).toBe(true);
    p.kill("SIGKILL");
    await waitFor(() => !pidAlive(p.pid), 3000, "pid dead");
    await expect(waitFor(() => false, 60, "never")).rejects.toThrow(/never/);
  });
});
