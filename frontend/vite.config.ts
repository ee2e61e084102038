/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig, searchForWorkspaceRoot } from "vite";

// The dev server forwards the gateway's routes so `npm run dev` works against a local stack
// (SENTIVIS_DEV_GATEWAY, default http://127.0.0.1:5001).
const gateway = process.env.SENTIVIS_DEV_GATEWAY ?? "http://127.0.0.1:5001";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    // The app bundles docs/PRIVACY.md (the Record switch's privacy text): the dev server may read it too.
    fs: {
      allow: [searchForWorkspaceRoot(process.cwd()), fileURLToPath(new URL("../docs/PRIVACY.md", import.meta.url))],
    },
    proxy: {
      "/socket.io": { target: gateway, ws: true },
      "/socket.io-msgpack": { target: gateway, ws: true },
      "/api": gateway,
      "/healthz": gateway,
      "/readyz": gateway,
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
