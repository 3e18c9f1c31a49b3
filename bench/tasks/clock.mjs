// The handler-lateness bench's task: its first line reads the clock, so the output is when the
// handler began (sub-ms: the origin plus the monotonic offset, which is the same in every thread).
export default { name: 'clock', maxTries: 1, async run() { return performance.timeOrigin + performance.now(); } };
