/** `rmcp-mux scan`: list MCP servers in every host config found; `--manifest` writes them into a mux.toml. */
import { defineCommand } from "citty";
import path from "node:path";
import { expandHome } from "../../config/paths.ts";
import { readManifest, writeManifest } from "../../hosts/apply.ts";
import { CONTEXT_ARGS, defaultSocketDir, hostContext, tildify } from "../../hosts/context.ts";
import { discover } from "../../hosts/discover.ts";
import type { HostContext } from "../../hosts/types.ts";
import { planServers } from "../../onboard/merge.ts";
import { scanJson, scanText } from "../../onboard/report.ts";
import { cliErrors, UsageError } from "../resolve.ts";

export default defineCommand({
  meta: { name: "scan", description: "Find the MCP servers your hosts run; --manifest writes a mux.toml for them" },
  args: {
    json: { type: "boolean", description: "Print JSON (env keys only, never values)" },
    manifest: { type: "string", description: "Write (or extend) this mux.toml with one [servers.NAME] per server", valueHint: "PATH" },
    "socket-dir": { type: "string", description: "Folder for the servers' sockets (default ~/.rmcp-servers/rmcp-mux/sockets)", valueHint: "DIR" },
    ...CONTEXT_ARGS,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const ctx: HostContext = hostContext(args);
      const results = await discover(ctx);
      const manifest = args.manifest ? path.resolve(expandHome(args.manifest)) : undefined;
      const existing = manifest ? await readManifest(manifest) : undefined;
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
      if (args.json) process.stdout.write(`${JSON.stringify(scanJson(results, planned, manifest), null, 2)}\n`);
      else process.stdout.write(scanText(results, planned, ctx.home) + (note ? `\n${note}` : ""));
      for (const r of results) if (r.error) process.stderr.write(`rmcp-mux scan: ${r.spec.path}: ${r.error}\n`);
      return results.some((r) => r.error) ? 1 : 0;
    });
  },
});
