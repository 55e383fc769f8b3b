import { describeCampaignStore } from '../conformance/campaign-store.js';
import { createMemoryStore } from './campaign-store.js';

describeCampaignStore('in-memory', () => ({ store: createMemoryStore() }));
