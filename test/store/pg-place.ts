import { PgDatabase } from '../../src/store/pg-source/pg-database.js';
import { PgSource } from '../../src/store/pg-source/pg-source.js';
import type { SourceFactory } from '../source-contract/contract.js';
import { createTestDatabase } from '../helpers/pg.js';

/** For the source contract: a place is a database of its own on the local PostgreSQL; each open is a pool with a PgSource over it. */
export function pgFactory({ leaseMs }: { leaseMs: number }): SourceFactory {
  return {
    async place() {
      const database = await createTestDatabase();
      return {
        async open({ clock, log }) {
          const db = await PgDatabase.open({ url: database.url, log, poolSize: 4 });
          return { source: new PgSource({ db, log, clock, leaseMs }), close: () => db.close() };
        },
        drop: () => database.drop(),
      };
    },
  };
}
