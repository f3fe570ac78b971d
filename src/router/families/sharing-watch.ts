/**
 * What the router sees of a backend that says how it may be shared (sharing.ts has the rules): its
 * initialize result, the tool names it lists, and whether it asks its clients for roots. Each observation
 * that a stronger rule than the last one reported is passed to the runtime, so a hint the runtime gets
 * always outranks the ones before it, and no policy is reported twice.
 *
 * Only `tools/list` answers are read, and only while a tool name could still change the outcome: the
 * answers to every other request pass through untouched.
 */
import type { Spans } from "../../wire/scan.ts";
import type { RouterContext } from "../context.ts";
import { Kind, type Session } from "../session.ts";
import { declaredHint, outranks, ROOTS_HINT, toolNames, toolsHint, unknownDeclaration, type SharingHint } from "../sharing.ts";
import type { RouterHost } from "../types.ts";

export class SharingWatch {
  private last: SharingHint | null = null;

  constructor(
    private readonly ctx: RouterContext,
    private readonly host: RouterHost,
  ) {}

  /** The strongest hint reported so far (null: none yet). */
  get reported(): SharingHint | null {
    return this.last;
  }

  /** True while a `tools/list` answer could still produce a hint the runtime would act on. */
  get wantsTools(): boolean {
    return this.host.sharingHint !== undefined && (this.last === null || this.last.rule === "roots");
  }

  /** Client `tools/list`: forwarded, its answer read on the way back while the names could matter. */
  listTools(c: Session, msg: Record<string, unknown>, line: string, deadline: number): void {
    this.ctx.forward(c, msg, line, deadline, this.wantsTools ? Kind.ListsTools : Kind.Client);
  }

  /** The backend's `initialize` answer (before the lifecycle acts on it). */
  initResult(line: string, s: Spans): void {
    if (this.host.sharingHint === undefined || s.resultStart < 0 || !line.includes('"x-mux"', s.resultStart)) return;
    let result: unknown;
    try {
      result = JSON.parse(line.slice(s.resultStart, s.resultEnd));
    } catch {
      return;
    }
    const odd = unknownDeclaration(result);
    if (odd !== undefined) this.ctx.log("warn", `backend declares x-mux sharing=${odd}, which is none of "shared", "isolated", "session-aware": ignored`);
    const hint = declaredHint(result);
    if (hint !== null) this.report(hint);
  }

  /** A `tools/list` answer on its way to a client. */
  toolsResult(line: string, s: Spans): void {
    if (s.resultStart < 0 || !this.wantsTools) return;
    let result: unknown;
    try {
      result = JSON.parse(line.slice(s.resultStart, s.resultEnd));
    } catch {
      return;
    }
    const hint = toolsHint(toolNames(result));
    if (hint !== null) this.report(hint);
  }

  /** The backend sent `roots/list`. */
  rootsAsked(): void {
    if (this.host.sharingHint !== undefined) this.report(ROOTS_HINT);
  }

  private report(hint: SharingHint): void {
    if (this.last !== null && !outranks(hint, this.last)) return;
    this.last = hint;
    this.ctx.log("debug", `sharing hint: ${hint.policy} (${hint.reason})`);
    this.host.sharingHint?.(hint);
  }
}
