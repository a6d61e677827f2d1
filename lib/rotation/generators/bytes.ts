import { randomBytes as cryptoRandomBytes } from 'node:crypto';

export type RandomBytes = (size: number) => Buffer;

export interface BytesOptions {
  length: number;
  encoding: 'base64' | 'base64url' | 'hex';
}

/** `length` random bytes from the CSPRNG, encoded as text. */
export function generateBytes(options: BytesOptions, randomBytes: RandomBytes = cryptoRandomBytes): string {
  return randomBytes(options.length).toString(options.encoding);
}
