import azureFunctions from '@azure/functions';

/**
 * @azure/functions is a CommonJS bundle whose classes Node's ESM loader cannot see as named
 * exports (`import { HttpRequest }` fails at run time, only `app` is detected), so the
 * constructors are taken from the default export.
 */
export const { HttpRequest, InvocationContext } = azureFunctions;
