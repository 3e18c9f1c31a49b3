// Type tests: checked by `tsc -p test` (an unused @ts-expect-error fails it too); vitest does not
// run *.test-d.ts files (`vitest --typecheck` would).
import { describe, expectTypeOf, it } from 'vitest';
import { Client, type SubmitOptions, type TaskMap, type TaskTypes, type TypedSubmitOptions } from '../../src/client/index.js';
import type greet from '../fixtures/typed-tasks/greet.js';

type Tasks = TaskMap<typeof import('../fixtures/typed-tasks/greet.js') | typeof import('../fixtures/typed-tasks/tick.js')>;
declare const typed: Client<Tasks>;
declare const untyped: Client;

describe('TaskMap', () => {
  it('maps each module\'s type name to its params and output', () => {
    expectTypeOf<Tasks>().toEqualTypeOf<{
      greet: { params: { to: string; times?: number }; output: { greeting: string } };
      tick: { params: { label?: string }; output: { label: string; attempt: number } };
    }>();
  });

  it('takes definitions as well as modules, as a union or an array type', () => {
    expectTypeOf<TaskMap<typeof greet>>().toEqualTypeOf<{ greet: Tasks['greet'] }>();
    expectTypeOf<TaskMap<[typeof greet, typeof import('../fixtures/typed-tasks/tick.js')]>>().toEqualTypeOf<Tasks>();
  });

  it('leaves out a definition whose name is only known as string', () => {
    expectTypeOf<TaskMap<{ name: string; run(p: number): number }>>().toEqualTypeOf<{}>();
  });
});

describe('a typed Client', () => {
  it('can be passed where any Client is taken (as Client<any>: a plain Client is a different type)', () => {
    const anyClient = (c: Client<any>): Promise<unknown> => c.submit({ type: 'whatever', params: 1 });
    void anyClient(typed);
    void anyClient(untyped);
  });

  it('is what connect answers when given the map', () => {
    expectTypeOf(Client.connect<Tasks>).returns.resolves.toEqualTypeOf<Client<Tasks>>();
    expectTypeOf(Client.connect).returns.resolves.toEqualTypeOf<Client<TaskTypes>>();
  });

  it('gives options that plain SubmitOptions also take', () => {
    expectTypeOf<TypedSubmitOptions<Tasks>>().toExtend<SubmitOptions>();
  });

  it('accepts a known type with its params, and leaves out params the schema does not require', () => {
    void typed.submit({ type: 'greet', params: { to: 'Ada', times: 2 }, schedule: { every: '1h', count: 3 }, key: 'k', priority: 1 });
    void typed.submit({ type: 'tick' });
    void typed.submitMany([{ type: 'tick', params: { label: 'x' } }, { type: 'greet', params: { to: 'Bo' } }]);
    void typed.enqueue({ type: 'greet', params: { to: 'Cy' }, schedule: { any: [{ cron: '0 9 * * *', tz: 'Europe/Paris' }, { at: '2030-01-01T00:00:00Z' }] } });
    void typed.list({ type: 'greet' });
    void typed.pending({ type: 'tick' });
  });

  it('refuses a wrong type name, wrong or missing params and a misspelt schedule key', () => {
    // @ts-expect-error: no such type
    void typed.submit({ type: 'gret', params: { to: 'Ada' } });
    // @ts-expect-error: to is a string
    void typed.submit({ type: 'greet', params: { to: 1 } });
    // @ts-expect-error: greet requires params.to
    void typed.submit({ type: 'greet' });
    // @ts-expect-error: not a property of greet's params
    void typed.submit({ type: 'greet', params: { to: 'Ada', cc: 'Bo' } });
    // @ts-expect-error: `evrey` is no schedule key
    void typed.submit({ type: 'tick', schedule: { evrey: '1h' } });
    // @ts-expect-error: tick's params are not greet's
    void typed.submitMany([{ type: 'tick', params: { to: 'Ada' } }]);
    // @ts-expect-error: no such type to list
    void typed.list({ type: 'nope' });
  });
});

describe('an untyped Client', () => {
  it('takes SubmitOptions as it always did: any name, any params, any schedule object', () => {
    expectTypeOf(untyped.submit).parameter(0).toEqualTypeOf<SubmitOptions>();
    void untyped.submit({ type: 'whatever', params: 42, schedule: { evrey: '1h' } });
    void untyped.list({ type: 'anything' });
  });
});
