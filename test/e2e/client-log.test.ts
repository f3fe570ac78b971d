/** RMCP_MUX_LOG=debug leaves a trace of every client: connect, handshake (with protocol version), disconnect. */
import { afterAll, expect, test } from "bun:test";
import { cleanup, RawClient, startDaemon, writeConfig } from "./harness.ts";

afterAll(cleanup);

test("debug log: client connects, handshakes and disconnects", async () => {
  const cfg = writeConfig(undefined, { fx: {} });
  const d = await startDaemon(cfg.configPath, [], { env: { RMCP_MUX_LOG: "debug" } });
  const c = await RawClient.connect(cfg.sockets.fx!);
  const from = d.stderrLines.length;
  await d.waitForStderr(/\[fx\] client (\d+) connected \(1 connected\)/, 5000);
  await c.initialize({ clientName: "claude-code" });
  await d.waitForStderr(/\[fx\] client \d+ handshake: claude-code 0\.0\.1 asks for protocol 2025-06-18/, 5000, from);
  await d.waitForStderr(/\[fx\] client \d+ handshake done/, 5000, from);
  await c.close();
  await d.waitForStderr(/\[fx\] client \d+ disconnected \(0 connected\)/, 5000, from);
  expect(d.stderrLines.every((l) => !/ DEBUG .*client/.test(l) || /\[fx\] client \d+ /.test(l))).toBe(true);
}, 30_000);

test("at the default level those lines are not written", async () => {
  const cfg = writeConfig(undefined, { fx: {} });
  const d = await startDaemon(cfg.configPath, [], { env: { RMCP_MUX_LOG: "info" } });
  const c = await RawClient.connect(cfg.sockets.fx!);
  await c.initialize();
  await c.close();
  await d.stop("SIGTERM", 5000);
  expect(d.stderrText()).not.toContain("DEBUG");
  expect(d.stderrText()).not.toMatch(/client \d+ connected/);
}, 30_000);
