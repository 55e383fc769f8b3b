import { describeScenarios } from './scenarios.js';
import { inProcessStack } from './support.js';

describeScenarios('in-memory store and in-process queue', inProcessStack());
