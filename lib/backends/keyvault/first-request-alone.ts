import type { SecretClientOptions } from '@azure/keyvault-secrets';

type PipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

/**
 * The SDK's challenge authentication (keyvault-common) sends a client's first request
 * without its body to learn the vault's challenge, and puts the body back only while the
 * challenge is still "started". When a parallel first request completes the challenge
 * first, the stripped request is resent with no body and the vault answers 400 ("The
 * request body must be a JSON object"): a rotation's write lost on a cold client. So until
 * one request of the client has been answered, its requests go one at a time; after that
 * they run in parallel as before.
 */
export function firstRequestAlone(): PipelinePolicy {
  let answered = false;
  let queue: Promise<unknown> = Promise.resolve();
  return {
    name: 'rotorFirstRequestAlone',
    sendRequest(request, next) {
      if (answered) return next(request);
      const turn = queue.then(() => next(request));
      queue = turn.then(
        () => {
          answered = true;
        },
        () => undefined,
      );
      return turn;
    },
  };
}

/** The client option that installs it outside the SDK's authentication policy. */
export const firstRequestAloneOption = (): SecretClientOptions['additionalPolicies'] => [
  { policy: firstRequestAlone(), position: 'perCall' },
];
