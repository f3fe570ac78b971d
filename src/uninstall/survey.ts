/**
 * What `rmcp-mux uninstall` would undo, found without changing anything: host files that still point at the
 * proxy (and the backup that restores each), service units `rmcp-mux service install` wrote, the executable and its proxy link,
 * and the sockets and pid records in the default folders. Only these are ever touched; the manifest and the
 * backups are listed as kept.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { defaultManifest } from "../hosts/context.ts";
import { discover } from "../hosts/discover.ts";
import { listBackups } from "../hosts/files.ts";
import type { HostContext, HostDef, HostFileSpec } from "../hosts/types.ts";
import { socketAnswers } from "../runtime/socket-path.ts";
import { locate, type ServiceLocation, type ServicePlatform } from "../service/platform.ts";

export interface HostToRestore {
  host: string;
  file: string;
  def: HostDef;
  spec: HostFileSpec;
  /** Names of the entries that run the proxy. */
  entries: string[];
  /** The newest rmcp-mux backup (what `rewire --restore` puts back); null when there is none. */
  backup: string | null;
}

export interface Survey {
  hosts: HostToRestore[];
  services: ServiceLocation[];
  binaries: string[];
  /** Stale sockets and `.pid` records in the default folders. */
  leftovers: string[];
  /** Sockets a daemon still answers on: left alone. */
  live: string[];
  /** The default folders, removed when nothing else is left in them. */
  folders: string[];
  /** What stays, with why. */
  kept: string[];
}

/** Header lines the service templates write: how an installed unit is told from a user's own. */
const SYSTEMD_MARK = "# Written by `rmcp-mux service install`";
const LAUNCHD_MARK = "<!-- Written by rmcp-mux service install;";

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The units `rmcp-mux service install` wrote (recognised by their header), whatever `--name` they got. */
export function installedServices(platform: ServicePlatform, env: { home: string; xdgConfigHome?: string }): ServiceLocation[] {
  const dir = path.dirname(locate(platform, "rmcp-mux", env).file);
  const found: ServiceLocation[] = [];
  for (const f of list(dir)) {
    const m = platform === "systemd" ? /^(.+)\.service$/.exec(f) : /^dev\.rmcp-mux\.(.+)\.plist$/.exec(f);
    const mark = platform === "systemd" ? SYSTEMD_MARK : LAUNCHD_MARK;
    if (m && read(path.join(dir, f)).includes(mark)) found.push(locate(platform, m[1] as string, env));
  }
  return found;
}

export async function survey(ctx: HostContext, opts: { binDir: string; platform: ServicePlatform; xdgConfigHome?: string }): Promise<Survey> {
  const s: Survey = { hosts: [], services: [], binaries: [], leftovers: [], live: [], folders: [], kept: [] };
  for (const r of await discover(ctx)) {
    const proxies = r.entries.filter((e) => e.kind === "proxy").map((e) => e.name);
    const backups = await listBackups(r.spec.path);
    if (proxies.length > 0) s.hosts.push({ host: r.host.id, file: r.spec.path, def: r.host, spec: r.spec, entries: proxies, backup: backups.at(-1) ?? null });
    const dir = path.dirname(r.spec.path);
    const base = path.basename(r.spec.path);
    const saved = list(dir).filter((n) => n.startsWith(`${base}.`) && n.endsWith(".pre-restore.bak")).map((n) => path.join(dir, n));
    for (const b of [...backups, ...saved]) s.kept.push(`${b} (a backup of your host file: delete it when you no longer need it)`);
  }
  s.services = installedServices(opts.platform, { home: ctx.home, xdgConfigHome: opts.xdgConfigHome });
  for (const b of ["rmcp-mux", "rmcp-mux-proxy"]) {
    const file = path.join(opts.binDir, b);
    // lstat: rmcp-mux-proxy is a link to rmcp-mux, and goes even when what it points at is gone already.
    if (lstatSync(file, { throwIfNoEntry: false }) !== undefined) s.binaries.push(file);
  }
  const manifestDir = path.dirname(defaultManifest(ctx.home));
  const dataDirs = [path.join(ctx.home, ".rmcp-mux"), manifestDir];
  for (const dir of dataDirs) {
    for (const folder of [path.join(dir, "sockets"), dir]) {
      if (!existsSync(folder)) continue;
      for (const n of list(folder)) {
        const p = path.join(folder, n);
        const st = lstatSync(p);
        if (st.isSocket()) (await socketAnswers(p)) ? s.live.push(p) : s.leftovers.push(p);
        else if (st.isFile() && n.endsWith(".sock.pid")) s.leftovers.push(p);
      }
      s.folders.push(folder);
    }
  }
  if (existsSync(defaultManifest(ctx.home))) {
    s.kept.push(`${defaultManifest(ctx.home)} (your server list, env values included: delete it by hand if you want it gone)`);
  }
  return s;
}
