import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain Node script without type declarations
import { render } from "../../scripts/protocolTypes.mjs";

describe("protocol.ts", () => {
  it("is what `npm run types` makes of the gateway's schema (protocol.schema.json)", async () => {
    const committed = await readFile(new URL("./protocol.ts", import.meta.url), "utf8");
    expect(committed).toBe(await render());
  });
});
