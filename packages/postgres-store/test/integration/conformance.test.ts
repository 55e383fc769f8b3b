// Core's conformance kits, the definition of correct behaviour for every store and ledger, run on
// the PostgreSQL adapters. Each kit gets one schema of its own for the whole file.

import { describeCampaignStore, describeCreditLedger } from '@smsbatch/core/testing';
import { createPostgresLedger, createPostgresStore } from '../../src/index.js';
import { describePg, useTestSchema } from '../helpers.js';

describePg('postgres adapters', () => {
  const db = useTestSchema({ poolSize: 12 });

  describeCampaignStore('postgres', () => ({
    store: createPostgresStore(db.pool, { schema: db.schema }),
  }));

  // The kit builds a ledger before every test; ids are fresh per test, so one schema serves all.
  describeCreditLedger('postgres', () => ({
    ledger: createPostgresLedger(db.pool, { schema: db.schema }),
  }));
});
