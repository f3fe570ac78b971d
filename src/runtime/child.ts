/**
 * One backend process: spawned without a shell, stdout framed into lines, stderr forwarded to the
 * daemon's log under the server's name, stdin written in batches.
 *
 * Shutdown is bounded, as in the MCP SDK's stdio transport: end stdin (a well-behaved server exits),
 * then SIGTERM, then SIGKILL — each step waits `graceMs`. Nothing outlives `stop()`.
 */
import type { Subprocess } from "bun";
import { LineDecoder } from "../wire/framing.ts";
import { TickBatch } from "../wire/tick-batch.ts";
import { killGroup } from "./leftovers.ts";
import type { Logger } from "./log.ts";

export interface ChildSpec {
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  maxLineBytes: number;
}

export interface ChildEvents {
  onLine(line: string): void;
  onExit(reason: string): void;
  onStderr(line: string): void;
}

type Proc = Subprocess<"pipe", "pipe", "pipe">;

export class SpawnError extends Error {
  override readonly name = "SpawnError";
}

export class Child {
  readonly pid: number;
  private readonly proc: Proc;
  private readonly batch = new TickBatch((text) => this.write(text));
  private exited = false;
  readonly exitedPromise: Promise<number>;

  constructor(
    spec: ChildSpec,
    private readonly events: ChildEvents,
    private readonly log: Logger,
  ) {
    try {
      this.proc = Bun.spawn([spec.cmd, ...spec.args], {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        // Its own process group: a server started through npx or a shell script has grandchildren,
        // and stopping the group stops them too. It also keeps a terminal's Ctrl+C for the daemon,
        // which then stops its children in order.
        detached: true,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === "ENOENT" ? `command not found: ${spec.cmd}` : `cannot start ${spec.cmd}: ${err.message}`;
      throw new SpawnError(why + (spec.cwd ? ` (cwd ${spec.cwd})` : ""));
    }
    this.pid = this.proc.pid;
    const decoder = new LineDecoder(spec.maxLineBytes, {
      onLine: (l) => this.events.onLine(l),
      onOversize: (n) => this.log("error", `backend wrote a ${n}-byte line, over max_response_bytes (${spec.maxLineBytes}); dropped`),
    });
    void this.pump(this.proc.stdout, (chunk) => decoder.push(chunk));
    void this.pumpStderr();
    this.exitedPromise = this.proc.exited.then((code) => {
      this.exited = true;
      // Grandchildren that outlived their parent would otherwise be orphans.
      killGroup(this.pid, "SIGTERM");
      const sig = this.proc.signalCode;
      this.events.onExit(sig ? `killed by ${sig}` : `exit code ${code}`);
      return code;
    });
  }

  send(line: string): void {
    if (!this.exited) this.batch.push(line);
  }

  private write(text: string): void {
    if (this.exited) return;
    try {
      // A Promise means the pipe is full; FileSink keeps the bytes and writes them in order.
      const r = this.proc.stdin.write(text);
      if (r instanceof Promise) r.catch(() => {});
    } catch (e) {
      this.log("warn", `writing to the backend failed: ${(e as Error).message}`);
    }
  }

  private async pump(stream: ReadableStream<Uint8Array>, onChunk: (c: Uint8Array) => void): Promise<void> {
    try {
      for await (const chunk of stream) {
        try {
          onChunk(chunk);
        } catch (e) {
          // A bug must cost one chunk, never the rest of the stream.
          this.log("error", `backend output not routed: ${(e as Error).stack ?? e}`);
        }
      }
    } catch (e) {
      this.log("warn", `backend stdout broke: ${(e as Error).message}`);
    }
  }

  private async pumpStderr(): Promise<void> {
    const decoder = new LineDecoder(64 * 1024, {
      onLine: (l) => {
        this.events.onStderr(l);
        this.log("info", `stderr: ${l}`);
      },
      onOversize: () => this.log("info", "stderr: (a very long line, not shown)"),
    });
    await this.pump(this.proc.stderr, (c) => decoder.push(c));
  }

  /** End stdin, then SIGTERM, then SIGKILL, waiting `graceMs` before each escalation. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    try {
      this.proc.stdin.end();
    } catch {
      // already closed
    }
    if (await this.waitExit(graceMs)) return;
    killGroup(this.pid, "SIGTERM");
    if (await this.waitExit(graceMs)) return;
    this.log("warn", `pid ${this.pid} ignored SIGTERM for ${graceMs} ms; sending SIGKILL`);
    killGroup(this.pid, "SIGKILL");
    await this.exitedPromise;
  }

  /** Kill at once (used when the daemon itself must go now). */
  kill(): void {
    if (!this.exited) killGroup(this.pid, "SIGKILL");
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    let t: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((r) => (t = setTimeout(() => r(false), ms)));
    const done = await Promise.race([this.exitedPromise.then(() => true as const), timeout]);
    clearTimeout(t);
    return done;
  }
}
