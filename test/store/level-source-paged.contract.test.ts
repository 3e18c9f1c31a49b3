import { describeSourceContract } from '../source-contract/contract.js';
import { levelFactory } from './level-place.js';

// The same contract with a due window of two tasks, so nearly every claim pages the store's due index.
describeSourceContract('LevelDB, a due window of 2', levelFactory({ windowSize: 2 }));
