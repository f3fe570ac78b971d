/** `rmcp-mux http-token`: print the HTTP front's bearer token (creating it, 0600, when missing). */
import { defineCommand } from "citty";
import { HTTP_DEFAULTS } from "../../config/http.ts";
import { expandHome } from "../../config/paths.ts";
import { ensureToken } from "../../runtime/links/http-token.ts";
import { cliErrors } from "../resolve.ts";

export default defineCommand({
  meta: { name: "http-token", description: "Print the bearer token of the HTTP front (made when missing)" },
  args: {
    config: { type: "string", description: "A mux.toml: its [http].token_file (default ~/.rmcp-mux/http-token)", valueHint: "PATH" },
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      let file = expandHome(HTTP_DEFAULTS.token_file);
      if (args.config) {
        const { loadConfig } = await import("../../config/load.ts");
        // A loopback address resolves the [http] table whether or not it sets `listen`; nothing is bound.
        file = (await loadConfig(args.config, { http: "127.0.0.1:0" })).http?.tokenFile ?? file;
      }
      process.stdout.write(`${ensureToken(file)}\n`);
      return 0;
    });
  },
});
