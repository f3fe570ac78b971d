/**
 * The daemon's config, validated by `rmcp-mux check --json` in a short-lived child process:
 * the schema library stays out of the daemon's memory for its whole life.
 */
import type { LoadedConfig } from "../config/load.ts";
import { selfCommand } from "./self.ts";

export class CheckFailed extends Error {
  override readonly name = "CheckFailed";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** `signal` ends the check child at once (a stop signal during start-up must not wait for the check). */
export async function checkedConfig(
  args: { config?: string; only?: string; except?: string; http?: string },
  signal?: AbortSignal,
): Promise<LoadedConfig> {
  const argv = selfCommand(["check", "--json", "--reveal-env", "--config", args.config as string]);
  if (args.only !== undefined) argv.push("--only", args.only);
  if (args.except !== undefined) argv.push("--except", args.except);
  if (args.http !== undefined) argv.push("--http", args.http);
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const kill = () => p.kill("SIGKILL");
  signal?.addEventListener("abort", kill, { once: true });
  if (signal?.aborted) kill();
  void p.exited.then(() => signal?.removeEventListener("abort", kill));
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new CheckFailed(err.trim() || `config check failed (exit ${code})`, code);
  return JSON.parse(out) as LoadedConfig;
}
