import { createPostgresLedger, createPostgresStore, migrate } from '@smsbatch/postgres-store';
import { describeScenarios } from './scenarios.js';
import { describeWithPostgres, randomName, schemaPool } from './services.js';
import { inProcessStack } from './support.js';

describeWithPostgres('PostgreSQL', () => {
  describeScenarios(
    'PostgreSQL store and ledger, in-process queue',
    inProcessStack(async () => {
      const schema = randomName('e2e');
      const { pool, drop } = schemaPool(schema);
      await migrate(pool, { schema });
      return {
        store: createPostgresStore(pool, { schema }),
        ledger: createPostgresLedger(pool, { schema }),
        close: drop,
      };
    }),
  );
});
