import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677), computed
 * client-side as psql's \password does, so ALTER ROLE never carries the clear password
 * and it cannot land in the server's statement log.
 * Format: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64.
 * Returns undefined for passwords SASLprep could change (non-ASCII or control
 * characters); the caller then sends the password as is and the server derives it.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = 4096,
): string | undefined {
  if (!/^[\x20-\x7e]*$/.test(password)) return undefined;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
