/**
 * Resource subscriptions, reference-counted per URI: the backend sees the first subscribe and the
 * last unsubscribe, and `notifications/resources/updated` goes only to the URI's subscribers.
 */
export class Subscriptions {
  private readonly byUri = new Map<string, Set<number>>();

  /** Adds the client; true when it is the URI's first subscriber (the backend must be told). */
  add(uri: string, cid: number): boolean {
    let set = this.byUri.get(uri);
    if (set === undefined) {
      set = new Set();
      this.byUri.set(uri, set);
    }
    const first = set.size === 0;
    set.add(cid);
    return first;
  }

  /** Removes the client; true when nobody is left (the backend must be told). */
  remove(uri: string, cid: number): boolean {
    const set = this.byUri.get(uri);
    if (set === undefined || !set.delete(cid)) return false;
    if (set.size > 0) return false;
    this.byUri.delete(uri);
    return true;
  }

  /** Removes a client everywhere; returns the URIs that lost their last subscriber. */
  removeClient(cid: number): string[] {
    const emptied: string[] = [];
    for (const [uri, set] of this.byUri) {
      if (set.delete(cid) && set.size === 0) {
        this.byUri.delete(uri);
        emptied.push(uri);
      }
    }
    return emptied;
  }

  subscribers(uri: string): ReadonlySet<number> | undefined {
    return this.byUri.get(uri);
  }

  uris(): IterableIterator<string> {
    return this.byUri.keys();
  }

  get size(): number {
    return this.byUri.size;
  }
}
