/**
 * `rmcp-mux uninstall`: undo what rmcp-mux set up, and say what was removed and what was kept.
 *   1. host files that run rmcp-mux-proxy are restored from their newest rmcp-mux backup (as `rewire --restore`;
 *      the version replaced is saved beside it); one without a backup stops everything before any change;
 *   2. service units written by `rmcp-mux service install` are stopped and removed;
 *   3. stale sockets and pid records in ~/.rmcp-mux and ~/.rmcp-servers/rmcp-mux go, then those folders if empty;
 *   4. rmcp-mux and rmcp-mux-proxy are removed from the install folder.
 * Kept, and listed: mux.toml (the server list, with env values) and the backups next to host files.
 */
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import path from "node:path";
import { defineCommand } from "citty";
import { CONTEXT_ARGS, hostContext, tildify } from "../../hosts/context.ts";
import { socketAnswers } from "../../runtime/socket-path.ts";
import { cliErrors } from "../resolve.ts";

const out = (line: string) => process.stdout.write(`${line}\n`);

export default defineCommand({
  meta: { name: "uninstall", description: "Undo rmcp-mux: restore rewired host files, remove services, sockets and binaries" },
  args: {
    "dry-run": { type: "boolean", description: "Say what would be restored and removed; change nothing" },
    "bin-dir": { type: "string", description: "Where the binaries are (default $INSTALL_DIR, else ~/.local/bin)", valueHint: "DIR" },
    ...CONTEXT_ARGS,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const ctx = hostContext(args);
      const t = (p: string) => tildify(p, ctx.home);
      const dry = Boolean(args["dry-run"]);
      const binDir = path.resolve(args["bin-dir"] ?? process.env.INSTALL_DIR ?? path.join(ctx.home, ".local/bin"));
      const platform = ctx.platform === "darwin" ? "launchd" : "systemd";
      const xdg = args.home ? undefined : process.env.XDG_CONFIG_HOME;
      const { survey } = await import("../../uninstall/survey.ts");
      const s = await survey(ctx, { binDir, platform, xdgConfigHome: xdg });

      const stuck = s.hosts.filter((h) => h.backup === null);
      if (stuck.length > 0) {
        for (const h of stuck)
          process.stderr.write(
            `rmcp-mux: ${t(h.file)} runs rmcp-mux-proxy for ${h.entries.join(", ")} and has no rmcp-mux backup to restore: point those entries back at their servers by hand, then run uninstall again\n`,
          );
        process.stderr.write("rmcp-mux: nothing was changed\n");
        return 1;
      }
      const removed = dry ? "would remove" : "removed";
      let code = 0;
      // Each host file gets back exactly the entries rewire changed (the rest of it stays as it is now). All
      // are checked first: an entry changed since the rewire stops the uninstall before anything is touched.
      const { restoreFile } = await import("../../hosts/apply.ts");
      const blocked: string[] = [];
      for (const h of s.hosts) {
        const o = await restoreFile(h.def, h.spec, { dryRun: true });
        if (o.error) blocked.push(`${t(h.file)}: ${o.error}`);
        for (const r of o.plan?.refused ?? []) blocked.push(`${t(h.file)}: ${r.entry}: ${r.reason}`);
      }
      if (blocked.length > 0) {
        for (const b of blocked) process.stderr.write(`rmcp-mux: ${b}\n`);
        process.stderr.write("rmcp-mux: put those entries back by hand, then run uninstall again; nothing was changed\n");
        return 1;
      }
      for (const h of s.hosts) {
        const o = await restoreFile(h.def, h.spec, { dryRun: dry });
        const entries = o.plan?.restored.join(", ") || h.entries.join(", ");
        out(`${dry ? "would restore" : "restored"} ${t(h.file)} (${h.host}: ${entries})`);
        if (o.saved) s.kept.push(`${o.saved} (your host file as it was before this restore)`);
      }
      if (s.services.length > 0) {
        const { describePlan, executePlan, planUninstall } = await import("../../service/actions.ts");
        for (const loc of s.services) {
          const plan = planUninstall(loc);
          if (dry) process.stdout.write(describePlan(plan, "uninstall"));
          else if ((await executePlan(plan, out)) !== 0) code = 1;
        }
      }
      // A service's daemon is gone now; one started by hand still answers, and its sockets stay.
      for (const p of s.live) {
        if (dry) s.kept.push(`${p} (a daemon answers here now; it goes if that daemon is a service's, stopped above)`);
        else if (!(await socketAnswers(p))) s.leftovers.push(p);
        else {
          s.kept.push(`${p} (a running daemon answers here: stop it, then run uninstall again)`);
          code = 1;
        }
      }
      for (const p of [...s.leftovers, ...s.binaries]) {
        if (!dry) rmSync(p, { force: true });
        out(`${removed} ${t(p)}`);
      }
      // Children before parents (sockets/, then its folder, then ~/.rmcp-servers): a folder goes only when empty.
      const gone = new Set([...s.leftovers, ...s.binaries]);
      for (const dir of [...s.folders, path.join(ctx.home, ".rmcp-servers")]) {
        if (!existsSync(dir) || !readdirSync(dir).every((n) => gone.has(path.join(dir, n)))) continue;
        if (!dry) rmdirSync(dir);
        gone.add(dir);
        out(`${removed} the folder ${t(dir)}`);
      }
      for (const k of s.kept) out(`kept ${t(k)}`);
      if (s.hosts.length + s.services.length + s.leftovers.length + s.binaries.length === 0) out("nothing of rmcp-mux was found to remove");
      return code;
    });
  },
});

