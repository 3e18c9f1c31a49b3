export default { name: 'noop', maxTries: 1, async run() {} };
