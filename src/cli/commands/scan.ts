/**
 * `rmcp-mux scan`: list MCP servers in every host config found; `--manifest` writes them into a mux.toml;
 * `--snippet DIR` writes one ready-to-paste snippet of proxy entries per host.
 */
import { defineCommand } from "citty";
import path from "node:path";
import { expandHome } from "../../config/paths.ts";
import { readManifest, writeManifest } from "../../hosts/apply.ts";
import { CONTEXT_ARGS, defaultManifest, defaultProxy, defaultSocketDir, hostContext, tildify } from "../../hosts/context.ts";
import { discover } from "../../hosts/discover.ts";
import type { HostContext, HostFileResult } from "../../hosts/types.ts";
import { type PlannedServer, planServers } from "../../onboard/merge.ts";
import { scanJson, scanText } from "../../onboard/report.ts";
import { cliErrors, UsageError } from "../resolve.ts";

export default defineCommand({
  meta: { name: "scan", description: "Find the MCP servers your hosts run; --manifest writes a mux.toml for them" },
  args: {
    json: { type: "boolean", description: "Print JSON (env keys only, never values)" },
    manifest: { type: "string", description: "Write (or extend) this mux.toml with one [servers.NAME] per server", valueHint: "PATH" },
    snippet: { type: "string", description: "Write one ready-to-paste snippet per host (its own format) into this folder", valueHint: "DIR" },
    proxy: { type: "string", description: "With --snippet: the rmcp-mux-proxy to run (default: next to rmcp-mux, on PATH, or ~/.local/bin)", valueHint: "PATH" },
    "socket-dir": { type: "string", description: "Folder for the servers' sockets (default ~/.rmcp-servers/rmcp-mux/sockets)", valueHint: "DIR" },
    ...CONTEXT_ARGS,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const ctx: HostContext = hostContext(args);
      const results = await discover(ctx);
      const manifest = args.manifest ? path.resolve(expandHome(args.manifest)) : undefined;
      // Snippets name the sockets of the manifest they point at: read it (the default one) even when not writing it.
      const target = manifest ?? (args.snippet ? defaultManifest(ctx.home) : undefined);
      const existing = target ? await readManifest(target) : undefined;
      const socketDir = path.resolve(expandHome(args["socket-dir"] ?? defaultSocketDir(ctx.home)));
      const planned = planServers(results.flatMap((r) => r.entries), socketDir, existing?.servers);
      let note = "";
      if (manifest) {
        const { written, added } = await writeManifest(manifest, planned, existing, ctx.home, "rmcp-mux scan");
        const where = tildify(manifest, ctx.home);
        note = !written
          ? `${where} already has every server found; left unchanged.\n`
          : `${existing ? `Added ${added.length} server(s) to` : `Wrote ${added.length} server(s) to`} ${where} (mode 0600).\n` +
            `Start the daemon: rmcp-mux --config ${where}\n`;
      }
      if (args.snippet) {
        note += await writeSnippets(args.snippet, results, planned, args.proxy, target!, ctx.home, existing);
        if (!manifest && planned.some((p) => !p.existing))
          note += `Some of these servers are not in ${tildify(target!, ctx.home)} yet: rmcp-mux scan --manifest ${tildify(target!, ctx.home)}\n`;
      }
      if (args.json) process.stdout.write(`${JSON.stringify(scanJson(results, planned, manifest), null, 2)}\n`);
      else process.stdout.write(scanText(results, planned, ctx.home) + (note ? `\n${note}` : ""));
      for (const r of results) if (r.error) process.stderr.write(`rmcp-mux scan: ${r.spec.path}: ${r.error}\n`);
      return results.some((r) => r.error) ? 1 : 0;
    });
  },
});

/** One file per host into `dir`; returns the lines saying what was written. */
async function writeSnippets(
  dir: string,
  results: HostFileResult[],
  planned: PlannedServer[],
  proxyFlag: string | undefined,
  manifest: string,
  home: string,
  existing: { http: import("../../config/http.ts").HttpConfig | null } | undefined,
): Promise<string> {
  const { mkdir, writeFile } = await import("node:fs/promises");
  const { renderSnippets } = await import("../../onboard/snippets.ts");
  const folder = path.resolve(expandHome(dir));
  const proxy = proxyFlag ? path.resolve(expandHome(proxyFlag)) : defaultProxy(home);
  const { clientBase, HTTP_DEFAULTS } = await import("../../config/http.ts");
  const { ensureToken } = await import("../../runtime/links/http-token.ts");
  // URL entries point at the manifest's [http] front, or at the default address until it has one.
  const h = existing?.http ?? { hostname: "127.0.0.1", port: 7337, tokenFile: path.join(home, HTTP_DEFAULTS.token_file.slice(2)) };
  const http = { base: clientBase(h), token: ensureToken(h.tokenFile) };
  const snippets = renderSnippets(results, planned, proxy, manifest, http);
  await mkdir(folder, { recursive: true });
  // Proxy entries carry no env values: nothing secret in those. URL entries carry the bearer token: 0600.
  for (const s of snippets) await writeFile(path.join(folder, s.fileName), s.text, { mode: s.http ? 0o600 : 0o644 });
  if (snippets.length === 0) return "No host has a stdio server to point at rmcp-mux: no snippet written.\n";
  const lines = snippets.map(
    (s) => `  ${tildify(path.join(folder, s.fileName), home)}: ${s.entries.length} server(s) for ${s.host.label}${s.http ? " over HTTP (holds the token)" : ""}`,
  );
  const noHttp = existing?.http
    ? ""
    : `The .http snippets use ${http.base}: add [http] listen = "127.0.0.1:7337" to ${tildify(manifest, home)} for the daemon to serve them.\n`;
  return `Snippets (paste over the entries of the same name; they use ${tildify(manifest, home)}):\n${lines.join("\n")}\n${noHttp}`;
}
