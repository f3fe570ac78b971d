/**
 * JSON-RPC batches (allowed by MCP 2025-03-26 only): the mux splits a batch, forwards each message
 * singly, and collects the answers so the client gets one array back, as it would from the server.
 */
export class Batch {
  /** Raw id text of each request still waiting for its answer. */
  readonly open = new Set<string>();
  readonly answers: string[] = [];
  /** Every item has been dispatched: only now may the array go out. */
  sealed = false;

  /** Takes an answer if it belongs here; returns true when it did. */
  take(rawId: string, line: string): boolean {
    if (!this.open.delete(rawId)) return false;
    this.answers.push(line);
    return true;
  }

  get complete(): boolean {
    return this.open.size === 0;
  }

  /** The array to send; undefined when the batch held only notifications (JSON-RPC: no reply). */
  reply(): string | undefined {
    return this.answers.length === 0 ? undefined : `[${this.answers.join(",")}]`;
  }
}
