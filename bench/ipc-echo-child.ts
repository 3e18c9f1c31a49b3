/** The raw IPC baseline's child: answers every message with the same message, nothing else. */
process.on('message', (message: unknown) => {
  process.send?.(message as object);
});
