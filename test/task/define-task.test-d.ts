// Type tests: checked by `tsc -p test` (an unused @ts-expect-error fails it too); vitest does not
// run *.test-d.ts files (`vitest --typecheck` would).
import { describe, expectTypeOf, it } from 'vitest';
import { defineTask, type JsonSchema, type TaskContext, type TaskDefinition } from '../../src/index.js';

describe('defineTask infers params from its schema', () => {
  it('types run\'s params from an inline schema: required, optional, enums, nested, arrays', () => {
    const email = defineTask({
      name: 'email',
      params: {
        type: 'object',
        properties: {
          to: { type: 'string', format: 'email' },
          subject: { type: 'string' },
          priority: { enum: ['low', 'high'] },
          retries: { type: 'integer' },
          attachments: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false } },
        },
        required: ['to', 'subject'],
        additionalProperties: false,
      },
      async run(params, ctx) {
        expectTypeOf(params).toEqualTypeOf<{
          to: string;
          subject: string;
          priority?: 'low' | 'high';
          retries?: number;
          attachments?: { path: string }[];
        }>();
        expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
        // @ts-expect-error: not a property of the schema
        void params.cc;
        return { messageId: `${params.to}:${params.subject}` };
      },
    });
    expectTypeOf(email.name).toEqualTypeOf<'email'>();
    expectTypeOf(email).toExtend<TaskDefinition<{ to: string; subject: string }, { messageId: string }, 'email'>>();
    expectTypeOf<Awaited<ReturnType<typeof email.run>>>().toEqualTypeOf<{ messageId: string }>();
  });

  it('reads a schema constant declared as const', () => {
    const schema = { type: 'object', properties: { url: { type: 'string' } }, required: ['url'], additionalProperties: false } as const;
    const fetchFeed = defineTask({ name: 'fetch-feed', params: schema, run: (p) => p.url.length });
    expectTypeOf(fetchFeed.run).parameter(0).toEqualTypeOf<{ url: string }>();
    expectTypeOf(fetchFeed.run).returns.toEqualTypeOf<number | Promise<number>>();
  });

  it('keeps extra properties open where the schema does', () => {
    const open = defineTask({ name: 'open', params: { type: 'object', properties: { a: { type: 'number' } } }, run: (p) => p });
    expectTypeOf(open.run).parameter(0).toEqualTypeOf<{ [k: string]: unknown; a?: number }>();
  });

  it('types params unknown without a schema, with a boolean one, or with one typed only as JsonSchema', () => {
    const none = defineTask({ name: 'none', run: (p) => p });
    expectTypeOf(none.run).parameter(0).toBeUnknown();
    const anything = defineTask({ name: 'anything', params: true, run: (p) => p });
    expectTypeOf(anything.run).parameter(0).toBeUnknown();
    const wide: JsonSchema = { type: 'object' };
    const widened = defineTask({ name: 'widened', params: wide, run: (p) => p });
    expectTypeOf(widened.run).parameter(0).toBeUnknown();
  });

  it('lets an annotation on run, or an explicit P, win over the schema, as before', () => {
    interface Params { n: number }
    const annotated = defineTask({ name: 'annotated', params: { type: 'object' }, run: (p: Params) => p.n });
    expectTypeOf(annotated.run).parameter(0).toEqualTypeOf<Params>();
    const explicit = defineTask<Params>({ name: 'explicit', params: { type: 'object' }, run: (p) => p.n });
    expectTypeOf(explicit.run).parameter(0).toEqualTypeOf<Params>();
    const both = defineTask<Params, number>({ name: 'both', run: (p) => p.n });
    expectTypeOf(both).toEqualTypeOf<TaskDefinition<Params, number>>();
  });

  it('refuses a misspelt option, a bad isolation and params used against their schema', () => {
    // @ts-expect-error: maxtries is not a definition field
    defineTask({ name: 'typo', maxtries: 3, run: () => undefined });
    // @ts-expect-error: isolation is 'thread' or 'process'
    defineTask({ name: 'iso', isolation: 'fork', run: () => undefined });
    defineTask({
      name: 'wrong-use',
      params: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
      run(p) {
        // @ts-expect-error: n is a number
        const s: string = p.n;
        return s;
      },
    });
  });
});
