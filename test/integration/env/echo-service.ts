/** A service for child-service.ts's channel test: answers every message with itself and its pid. */
import type { ChildChannel } from '../../env/child-service.js';

export async function startEcho(options: { greeting: string }, channel: ChildChannel) {
  channel.onMessage((data) => channel.send({ echo: data, pid: process.pid }));
  channel.send({ echo: options.greeting, pid: process.pid });
  return { stop: async () => undefined };
}
