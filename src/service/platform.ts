/** Which service manager this machine has, where its files go, and the spec a unit is rendered from. */
import path from "node:path";
import { UsageError } from "../errors.ts";
import { checkName, launchdLabel, type ServiceSpec } from "./render.ts";

export type ServicePlatform = "systemd" | "launchd";

export const PLATFORMS: readonly ServicePlatform[] = ["systemd", "launchd"];

/** Linux: a systemd user unit; macOS: a launchd agent; anything else has no `service` support. */
export function detectPlatform(os: NodeJS.Platform = process.platform): ServicePlatform {
  if (os === "linux") return "systemd";
  if (os === "darwin") return "launchd";
  throw new UsageError(`rmcp-mux service supports Linux (systemd) and macOS (launchd), not ${os}`);
}

export function parsePlatform(value: string | undefined, os: NodeJS.Platform = process.platform): ServicePlatform {
  if (value === undefined || value === "") return detectPlatform(os);
  if ((PLATFORMS as readonly string[]).includes(value)) return value as ServicePlatform;
  throw new UsageError(`--platform must be ${PLATFORMS.join(" or ")}, was ${JSON.stringify(value)}`);
}

export interface ServiceLocation {
  platform: ServicePlatform;
  name: string;
  /** The unit file or the plist. */
  file: string;
  /** systemd: `<name>.service`; launchd: `dev.rmcp-mux.<name>`. */
  id: string;
  /** launchd: the log file; systemd logs to the journal. */
  logPath: string | null;
  /** How a person reads the logs. */
  logHint: string;
  /** systemd: the symlink `enable` makes (removed on uninstall even when systemctl cannot be reached). */
  wantsLink: string | null;
}

export interface Env {
  home: string;
  /** $XDG_CONFIG_HOME, which systemd searches before ~/.config (only an absolute one counts). */
  xdgConfigHome?: string | undefined;
}

export function locate(platform: ServicePlatform, name: string, env: Env): ServiceLocation {
  checkName(name);
  if (platform === "systemd") {
    const configHome = env.xdgConfigHome && path.isAbsolute(env.xdgConfigHome) ? env.xdgConfigHome : path.join(env.home, ".config");
    const userDir = path.join(configHome, "systemd", "user");
    const id = `${name}.service`;
    return {
      platform,
      name,
      file: path.join(userDir, id),
      id,
      logPath: null,
      logHint: `journalctl --user -u ${name}`,
      wantsLink: path.join(userDir, "default.target.wants", id),
    };
  }
  const label = launchdLabel(name);
  const logPath = path.join(env.home, "Library", "Logs", "rmcp-mux", `${name}.log`);
  return {
    platform,
    name,
    file: path.join(env.home, "Library", "LaunchAgents", `${label}.plist`),
    id: label,
    logPath,
    logHint: `tail -f ${logPath.includes(" ") ? `'${logPath}'` : logPath}`,
    wantsLink: null,
  };
}

/**
 * How long the service manager lets the daemon stop before SIGKILL. The daemon stops its servers in parallel,
 * each in up to two `shutdown_grace_ms` waits (stdin closed, then SIGTERM); 10 s on top, and never under 30 s.
 */
export function stopTimeoutSec(shutdownGraceMs: readonly number[]): number {
  const longest = Math.max(0, ...shutdownGraceMs);
  return Math.max(30, Math.ceil((2 * longest) / 1000) + 10);
}

export function buildSpec(opts: {
  location: ServiceLocation;
  /** The program, absolute (selfCommand()). */
  command: string[];
  configPath: string;
  pathEnv: string;
  shutdownGraceMs: readonly number[];
}): ServiceSpec {
  const configPath = path.resolve(opts.configPath);
  return {
    name: opts.location.name,
    command: opts.command,
    configPath,
    workingDirectory: path.dirname(configPath),
    pathEnv: opts.pathEnv,
    stopTimeoutSec: stopTimeoutSec(opts.shutdownGraceMs),
    logPath: opts.location.logPath ?? "",
  };
}
