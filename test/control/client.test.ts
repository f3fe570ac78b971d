import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connectControl } from "../../src/control/client.ts";

const dir = mkdtempSync("/tmp/mx-ctl-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("answers are matched by id, not by order: a slow answer does not take a fast request's place", async () => {
  const path = join(dir, "ctl.sock");
  // A real socket peer that answers the first request last, as the daemon does for a restart then a status.
  const held: Array<{ id: unknown }> = [];
  const server = Bun.listen<undefined>({
    unix: path,
    socket: {
      data(s, chunk) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) held.push(JSON.parse(line));
        if (held.length < 2) return;
        const [slow, fast] = held as [{ id: unknown }, { id: unknown }];
        s.write(`${JSON.stringify({ ok: true, id: fast.id, server: { name: "fast" } })}\n`);
        s.write(`${JSON.stringify({ ok: true, id: slow.id, server: { name: "slow" } })}\n`);
      },
    },
  });
  try {
    const c = await connectControl(path);
    const [a, b] = await Promise.all([c.request({ cmd: "restart", name: "x" }), c.request({ cmd: "status" })]);
    expect(a.ok && a.server?.name).toBe("slow");
    expect(b.ok && b.server?.name).toBe("fast");
    c.close();
  } finally {
    server.stop(true);
  }
});
