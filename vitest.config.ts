import { defineConfig } from 'vitest/config';

// One project per package; every project resolves `@smsbatch/*` to its sources
// through the `@smsbatch/source` export condition, so tests never need a build.
const sourceConditions = ['@smsbatch/source', 'module', 'node', 'development|production'];

const project = (dir: string, name: string) => ({
  extends: true as const,
  test: {
    name,
    root: dir,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: ['@smsbatch/source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      project('packages/core', 'core'),
      project('packages/mitto-client', 'mitto-client'),
      project('packages/postgres-store', 'postgres-store'),
      project('packages/bullmq-adapter', 'bullmq-adapter'),
      project('packages/express-adapter', 'express-adapter'),
      project('examples/retail-server', 'retail-server'),
      {
        extends: true as const,
        test: { name: 'e2e', root: 'test/e2e', include: ['**/*.test.ts'] },
      },
    ],
  },
});
