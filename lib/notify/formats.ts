import type { NotificationSummary } from './summary.js';

/** One body builder per destination kind; adding a kind adds an entry, not a branch. */
export const formats: Record<'slack' | 'teams' | 'webhook', (s: NotificationSummary) => unknown> = {
  slack: (s) => ({ text: [`*${s.title}*`, ...s.lines.map((l) => `• ${l}`)].join('\n') }),
  teams: (s) => ({
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', weight: 'Bolder', text: s.title, wrap: true },
            ...s.lines.map((text) => ({ type: 'TextBlock', text, wrap: true, spacing: 'None' })),
          ],
        },
      },
    ],
  }),
  webhook: (s) => ({
    title: s.title,
    failed: s.failed,
    restarted: s.restarted,
    failures: s.failures,
    lines: s.lines,
  }),
};
