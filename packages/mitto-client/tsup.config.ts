import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // p-retry is ESM-only: bundled, so the CommonJS build works without require(esm) interop.
  noExternal: ['p-retry'],
});
