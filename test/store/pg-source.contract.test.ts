import { describeSourceContract } from '../source-contract/contract.js';
import { pgFactory } from './pg-place.js';

describeSourceContract('PostgreSQL', pgFactory({ leaseMs: 5000 }));
