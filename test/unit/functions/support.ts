import type {
  HttpRequest as HttpRequestType,
  InvocationContext as InvocationContextType,
} from '@azure/functions';
import { HttpRequest, InvocationContext } from '../../../lib/host/functions-runtime.js';

export interface LoggedContext {
  context: InvocationContextType;
  logs: Array<{ level: string; message: string }>;
}

/** An InvocationContext whose log lines are kept for assertions. */
export function loggedContext(functionName: string): LoggedContext {
  const logs: LoggedContext['logs'] = [];
  const context = new InvocationContext({
    invocationId: `test-${functionName}`,
    functionName,
    logHandler: (level, ...args) => logs.push({ level, message: args.map(String).join(' ') }),
  });
  return { context, logs };
}

export function post(
  route: string,
  body: string,
  headers: Record<string, string> = {},
  query = '',
): HttpRequestType {
  return new HttpRequest({
    method: 'POST',
    url: `http://localhost:7071/api/${route}${query}`,
    headers,
    ...(query ? { query: Object.fromEntries(new URLSearchParams(query)) } : {}),
    body: { bytes: Buffer.from(body) },
  });
}
