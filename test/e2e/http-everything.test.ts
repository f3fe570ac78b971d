/**
 * server-everything behind the HTTP front, SDK 1.x clients over StreamableHTTPClientTransport: sampling
 * reaches the session that called the tool (over the SSE stream of its POST) and no other; progress of a
 * long operation reaches its own session, in order, before the result.
 */
import { afterEach, expect, test } from "bun:test";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { cleanup } from "./harness.ts";
import { closeHttpClients, httpClient, startHttpDaemon } from "./http-harness.ts";
import { allText, EVERYTHING_SERVER } from "./wire.ts";

afterEach(async () => {
  await closeHttpClients();
  await cleanup();
});

const T = { timeout: 15_000 };

async function sampler(d: Awaited<ReturnType<typeof startHttpDaemon>>, name: string) {
  const c = await httpClient(d, "everything", name, { sampling: {} });
  const asked: string[] = [];
  c.client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    asked.push(JSON.stringify(req.params.messages));
    return { model: `model-of-${name}`, role: "assistant", content: { type: "text", text: `sampled by ${name}` } };
  });
  return { ...c, asked };
}

test("sampling and progress are routed to the session that asked, with two sessions at once", async () => {
  const d = await startHttpDaemon({ everything: EVERYTHING_SERVER });
  const [a, b] = await Promise.all([sampler(d, "http-A"), sampler(d, "http-B")]);
  const ra = await a.client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "prompt of A", maxTokens: 11 } }, undefined, T);
  expect(allText(ra)).toContain("sampled by http-A");
  expect(a.asked).toHaveLength(1);
  expect(a.asked[0]).toContain("prompt of A");
  expect(b.asked).toHaveLength(0);
  const rb = await b.client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "prompt of B" } }, undefined, T);
  expect(allText(rb)).toContain("sampled by http-B");
  expect(b.asked).toHaveLength(1);
  expect(a.asked).toHaveLength(1);

  const seen = { a: [] as number[], b: [] as number[] };
  const [pa, pb] = await Promise.all([
    a.client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } }, undefined, {
      ...T,
      onprogress: (p) => void seen.a.push(p.progress),
    }),
    b.client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.4, steps: 4 } }, undefined, {
      ...T,
      onprogress: (p) => void seen.b.push(p.progress),
    }),
  ]);
  expect(allText(pa)).toContain("Long running operation completed");
  expect(allText(pb)).toContain("Long running operation completed");
  expect(seen.a).toEqual([1, 2, 3]);
  expect(seen.b).toEqual([1, 2, 3, 4]);
}, 30_000);
