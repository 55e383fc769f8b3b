// The migrations shipped with the package, in order. They are TypeScript strings rather than
// .sql files so that the bundler carries them into dist with no copy step.

import initial from './001-initial.js';
import batchDispatch from './002-batch-dispatch.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'batch_dispatch', sql: batchDispatch },
];
