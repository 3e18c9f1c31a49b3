import { defineConfig } from 'vitest/config';

// `npm test` runs everything but test/chaos/ (the long fault-injection runs); `npm run test:chaos`
// runs only those (SPINDLE_CHAOS=1). .ci/run runs both.
const chaos = process.env.SPINDLE_CHAOS === '1';

export default defineConfig({
  test: {
    include: chaos ? ['test/chaos/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: chaos ? ['**/node_modules/**'] : ['**/node_modules/**', 'test/chaos/**'],
    // Runtime tests start real worker threads and LevelDB stores: give a loaded 2-core machine room.
    testTimeout: chaos ? 600_000 : 60_000,
    hookTimeout: chaos ? 120_000 : 60_000,
    pool: 'forks',
    maxWorkers: chaos ? 1 : 2,
  },
});
