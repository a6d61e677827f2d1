/**
 * The child end of child-service.ts: imports the module it is told, starts the service
 * with the options it is sent, answers with the started value, stops it when asked, and
 * exits when the channel to its parent closes (the parent stopped it or died).
 */
import type { ChildChannel, ChildReply, ChildRequest } from './child-service.js';

type Started = Record<string, unknown> & { stop(): Promise<void> };

const listeners: Array<(data: unknown) => void> = [];
const channel: ChildChannel = {
  send: (data) => send({ type: 'message', data }),
  onMessage: (listener) => listeners.push(listener),
};

let running: Promise<Started | undefined> | undefined;

const send = (reply: ChildReply) => process.send?.(reply);

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ChildRequest) => {
  if (m.type === 'start' && !running) {
    running = import(m.module)
      .then((mod: Record<string, (options: unknown, channel: ChildChannel) => Promise<Started>>) => {
        const start = mod[m.start];
        if (typeof start !== 'function') throw new Error(`${m.module} exports no function ${m.start}`);
        return start(m.options, channel);
      })
      .then(
        (started) => {
          // The value crosses the channel as JSON: functions (stop) stay here.
          const { stop: _stop, ...value } = started;
          send({ type: 'started', value });
          return started;
        },
        (error: unknown) => {
          send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
          process.disconnect();
          return undefined;
        },
      );
  } else if (m.type === 'message') {
    for (const listener of listeners) listener(m.data);
  } else if (m.type === 'stop') {
    void (async () => {
      const started = await running;
      await started?.stop().catch(() => undefined);
      process.disconnect();
    })();
  }
});
