import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import type {
  LogLevel as FunctionsLogLevel,
  InvocationContext as InvocationContextType,
} from '@azure/functions';
import type { Logger } from '../telemetry.js';
import { InvocationContext } from './functions-runtime.js';

/**
 * An InvocationContext like the Functions runtime builds for each invocation, with the
 * handler's context.log/warn/error routed into rotor's structured log.
 */
export function invocationContext(
  functionName: string,
  log: Logger,
  triggerType = 'unknown',
): InvocationContextType {
  const invocationId = randomUUID();
  const child = log.child({ function: functionName, invocationId });
  return new InvocationContext({
    invocationId,
    functionName,
    options: { trigger: { type: triggerType, name: functionName } },
    logHandler: (level: FunctionsLogLevel, ...args: unknown[]) => {
      const message = format(...args);
      if (level === 'error' || level === 'critical') child.error(message);
      else if (level === 'warning') child.warn(message);
      else if (level === 'debug' || level === 'trace') child.debug(message);
      else child.info(message);
    },
  });
}
