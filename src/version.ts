/**
 * Version and commit, baked in by build.ts with `--define`; from a checkout they fall back to
 * package.json's version and "dev".
 */
import pkg from "../package.json" with { type: "json" };

declare const MUX_BUILD_VERSION: string | undefined;
declare const MUX_BUILD_COMMIT: string | undefined;

export const VERSION: string = typeof MUX_BUILD_VERSION === "string" ? MUX_BUILD_VERSION : pkg.version;
export const COMMIT: string = typeof MUX_BUILD_COMMIT === "string" ? MUX_BUILD_COMMIT : "dev";
