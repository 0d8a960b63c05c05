/** The part of ssh2's internal crypto module that ssh2-gcm-speed.ts uses (ssh2 1.17). */
declare module 'ssh2/lib/protocol/crypto.js' {
  const crypto: {
    bindingAvailable: boolean;
    CIPHER_INFO: Record<string, { keyLen: number; ivLen: number } | undefined>;
    createCipher(config: unknown): unknown;
    createDecipher(config: unknown): unknown;
  };
  export default crypto;
}
