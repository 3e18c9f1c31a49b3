import { describeSourceContract } from '../source-contract/contract.js';
import { levelFactory } from './level-place.js';

describeSourceContract('LevelDB', levelFactory({ windowSize: 1000 }));
