/**
 * The dashboard on screen: a fixed tree of opentui renderables, built once. Each model change only
 * replaces their text, and opentui repaints just the cells that changed, so nothing flickers; the
 * sizes come from the renderer's current width and height, so a resize re-lays everything out.
 */
import { BoxRenderable, type CliRenderer, RGBA, StyledText, TextRenderable, type TextChunk } from "@opentui/core";
import type { ServerState } from "../runtime/status.ts";
import { detail, fit, HELP, header, statusLine, table } from "./layout.ts";
import type { Model, Tone } from "./model.ts";

const STATE_COLOUR: Record<ServerState, string> = {
  running: "#4ec94e",
  starting: "#e6c84a",
  lazy: "#5aa9e6",
  backoff: "#e69a3a",
  stopped: "#9a9a9a",
  failed: "#e6504a",
};
const TONE_COLOUR: Record<Tone, string> = { info: "#d0d0d0", ok: "#4ec94e", error: "#e6504a" };
const SELECTED_BG = "#30405a";
const HEADER_FG = "#8fb8e6";
const DIM = "#8a8a8a";

const rgba = new Map<string, RGBA>();
function colour(hex: string): RGBA {
  let c = rgba.get(hex);
  if (c === undefined) rgba.set(hex, (c = RGBA.fromHex(hex)));
  return c;
}

function chunk(text: string, fg?: string, bg?: string, bold = false): TextChunk {
  return {
    __isChunk: true,
    text,
    ...(fg ? { fg: colour(fg) } : {}),
    ...(bg ? { bg: colour(bg) } : {}),
    ...(bold ? { attributes: 1 } : {}),
  };
}

export interface DashboardView {
  render(m: Model): void;
  destroy(): void;
}

export function createView(renderer: CliRenderer): DashboardView {
  const root = new BoxRenderable(renderer, { id: "mux-dashboard", flexDirection: "column", width: "100%", height: "100%" });
  const head = new TextRenderable(renderer, { id: "mux-header", height: 1, flexShrink: 0 });
  const tableBox = new BoxRenderable(renderer, { id: "mux-table", border: true, title: " servers ", flexShrink: 0 });
  const tableText = new TextRenderable(renderer, { id: "mux-table-text", wrapMode: "none" });
  const detailBox = new BoxRenderable(renderer, { id: "mux-detail", border: true, flexGrow: 1 });
  const detailText = new TextRenderable(renderer, { id: "mux-detail-text", wrapMode: "none" });
  const status = new TextRenderable(renderer, { id: "mux-status", height: 1, flexShrink: 0 });
  tableBox.add(tableText);
  detailBox.add(detailText);
  root.add(head);
  root.add(tableBox);
  root.add(detailBox);
  root.add(status);
  renderer.root.add(root);

  let last: Model | null = null;
  const draw = (m: Model) => {
    last = m;
    const width = Math.max(10, renderer.width);
    const inner = width - 2;
    const lost = m.link.state === "lost";
    head.content = new StyledText([chunk(header(m, width), lost ? TONE_COLOUR.error : HEADER_FG, undefined, true)]);

    const t = table(m, inner);
    const lines: TextChunk[] = [chunk(t.header, DIM, undefined, true)];
    for (const row of t.rows) {
      const bg = row.selected ? SELECTED_BG : undefined;
      const markEnd = row.stateAt + `● ${row.state}`.length;
      lines.push(chunk(`\n${row.text.slice(0, row.stateAt)}`, undefined, bg));
      lines.push(chunk(row.text.slice(row.stateAt, markEnd), lost ? DIM : STATE_COLOUR[row.state], bg, true));
      lines.push(chunk(row.text.slice(markEnd), undefined, bg));
    }
    if (t.rows.length === 0) lines.push(chunk(`\n${fit(lost ? "(no daemon)" : "(waiting for the daemon's status)", inner)}`, DIM));
    // Never more rows than leave room for the header, the detail pane's frame and the status line.
    const tableHeight = Math.min(Math.max(1, t.rows.length) + 3, Math.max(3, renderer.height - 5));
    tableBox.height = tableHeight;
    tableBox.title = lost ? " servers (last known) " : " servers ";
    tableBox.borderColor = lost ? TONE_COLOUR.error : "#5a6a80";
    tableText.content = new StyledText(lines);

    const detailInner = Math.max(1, renderer.height - 2 - tableHeight - 2);
    const name = m.selected ?? "";
    detailBox.title = m.help ? " keys " : name === "" ? undefined : ` ${name} `;
    const body = m.help ? HELP.slice(0, detailInner).map((l) => fit(l, inner)) : detail(m, inner, detailInner);
    detailText.content = new StyledText([chunk(body.join("\n"))]);

    const tone = m.message?.tone ?? (lost ? "error" : "info");
    status.content = new StyledText([chunk(statusLine(m, width), m.message || lost ? TONE_COLOUR[tone] : DIM)]);
  };
  const onResize = () => {
    if (last !== null) draw(last);
  };
  renderer.on("resize", onResize);
  return {
    render: draw,
    destroy() {
      renderer.off("resize", onResize);
      if (!renderer.isDestroyed) root.destroyRecursively();
    },
  };
}
