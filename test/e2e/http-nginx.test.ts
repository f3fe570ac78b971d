/**
 * tools/nginx/rmcp-mux.conf as shipped (only its CHANGE values filled in): real nginx terminating TLS in front
 * of a daemon listening with allow_remote = true, and the SDK 1.x client over https through it. Needs nginx
 * and openssl on PATH; skipped (with the reason) where they are not, as on CI, which has only Node.
 */
import { afterEach, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { cleanup, REPO, startDaemon, tempDir, trackPid, waitFor, writeConfig } from "./harness.ts";

afterEach(cleanup);

const NGINX = Bun.which("nginx") ?? Bun.which("nginx", { PATH: "/usr/sbin:/usr/local/sbin" });
const OPENSSL = Bun.which("openssl");
const why = NGINX === null ? "nginx is not installed" : OPENSSL === null ? "openssl is not installed" : "";

/** A port free right now on `host` (bound and released). */
function freePort(host: string): number {
  const s = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** This machine's first non-loopback IPv4 address: the daemon listens beyond loopback, as behind a proxy elsewhere. */
function lanAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "0.0.0.0";
}

const insecure = ((url: string | URL, init?: RequestInit) => fetch(url, { ...init, tls: { rejectUnauthorized: false } } as RequestInit)) as typeof fetch;

test.skipIf(why !== "")(`tools/nginx/rmcp-mux.conf: TLS in front of a daemon with allow_remote = true${why ? ` (skipped: ${why})` : ""}`, async () => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const addr = lanAddress();
  const upstream = `${addr === "0.0.0.0" ? "127.0.0.1" : addr}:${freePort(addr)}`;
  const front = freePort("127.0.0.1");
  const listen = addr === "0.0.0.0" ? `0.0.0.0:${upstream.split(":")[1]}` : upstream;
  const cfg = writeConfig(dir, { fx: {} }, { http: { listen, allow_remote: true, token_file: path.join(dir, "tok") } });

  const gen = Bun.spawnSync([OPENSSL!, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stderr: "pipe" });
  expect(gen.exitCode).toBe(0);
  const shipped = readFileSync(path.join(REPO, "tools/nginx/rmcp-mux.conf"), "utf8");
  const site = shipped
    .replace("server 127.0.0.1:7337;", `server ${upstream};`)
    .replace("listen 443 ssl;", `listen 127.0.0.1:${front} ssl;`)
    .replace("/etc/ssl/rmcp-mux/cert.pem", path.join(dir, "cert.pem"))
    .replace("/etc/ssl/rmcp-mux/key.pem", path.join(dir, "key.pem"));
  expect(site).not.toBe(shipped);
  writeFileSync(path.join(dir, "rmcp-mux.conf"), site);
  const tmp = path.join(dir, "tmp");
  mkdirSync(tmp, { mode: 0o777 });
  chmodSync(tmp, 0o777);
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${tmp}/${t};`).join(" ");
  writeFileSync(
    path.join(dir, "nginx.conf"),
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;\nevents { worker_connections 64; }\n` +
      `http { access_log off; ${temps}\ninclude ${dir}/rmcp-mux.conf;\n}\n`,
  );

  const daemon = await startDaemon(cfg.configPath);
  await daemon.waitForStderr(/http: listening on/);
  const nginx = Bun.spawn([NGINX!, "-p", dir, "-c", path.join(dir, "nginx.conf")], { stdout: "ignore", stderr: "pipe" });
  trackPid(nginx.pid);
  try {
    const base = `https://127.0.0.1:${front}`;
    await waitFor(async () => (await insecure(`${base}/health`)).status === 200, 10_000, "nginx up");
    expect((await insecure(`${base}/anything`)).status).toBe(404);
    const token = readFileSync(path.join(dir, "tok"), "utf8").trim();
    expect((await insecure(`${base}/mcp/fx`, { method: "POST", body: "{}" })).status).toBe(401);

    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/fx`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: insecure,
    });
    const client = new Client({ name: "through-nginx", version: "1.0.0" });
    await client.connect(transport);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain("echo");
    // progress comes as SSE events through the proxy, before the answer
    const seen: number[] = [];
    const r: any = await client.callTool({ name: "progress", arguments: { steps: 3 } }, undefined, { onprogress: (p) => void seen.push(p.progress) });
    expect(r.content[0].text).toBe("done");
    expect(seen).toEqual([1, 2, 3]);
    await transport.terminateSession();
    await client.close();
  } finally {
    nginx.kill("SIGTERM");
    await nginx.exited;
  }
}, 60_000);
