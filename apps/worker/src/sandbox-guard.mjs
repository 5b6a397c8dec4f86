// Preloaded into every sandbox child (node --import), before BullMQ's child
// wrapper and before anything of ours: from its first moment, a child whose
// worker is gone exits. Without it, a child orphaned during start-up could sit
// forever, or spin at 100% CPU when BullMQ's error handler tried to report a
// broken-pipe error to the dead parent and failed again.
const orphaned = () => !process.connected;
process.on('disconnect', () => process.exit(1));
const leaveIfOrphaned = () => {
  if (orphaned()) process.exit(1);
};
process.prependListener('uncaughtException', leaveIfOrphaned);
process.prependListener('unhandledRejection', leaveIfOrphaned);
