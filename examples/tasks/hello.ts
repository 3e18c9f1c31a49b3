import { defineTask } from 'spindle';

export default defineTask({
  name: 'hello',
  description: 'Greets someone',
  params: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 } },
    required: ['name'],
    additionalProperties: false,
  },
  timeout: '10s',
  async run({ name }, ctx) {
    ctx.log.info({ name }, 'saying hello');
    return { greeting: `Hello, ${name}!` };
  },
});
