/**
 * Cheaper AES-GCM packets for ssh2 without its native binding (which Ferry cannot load: it
 * aborts under Node 24.19+, nodejs/node#65446). ssh2 1.17 makes a new Node cipher for every
 * packet from the raw key Buffer, and Node turns that Buffer into a key object each time:
 * in a V8 profile of a ten-target fan-out, `getKeyObjectSlots` and `getSlots` were the two
 * biggest items (0.5 s of 4.7 s). A key object made once per cipher makes the same
 * `createCipheriv` call 3 to 7 times cheaper here. The random padding of each packet comes
 * from a pooled CSPRNG buffer instead of one `randomFillSync` call per packet.
 *
 * Nothing on the wire changes: the same cipher, key, IV sequence and AAD; padding bytes are
 * random either way. The patch reaches ssh2's internal classes through instances its own
 * `createCipher`/`createDecipher` return, and applies only when they look exactly as in the
 * version it was written for (fields `_encKey`, `_decipherKey`, methods `encrypt`,
 * `decrypt`, `allocPacket`); otherwise ssh2 runs unchanged and {@link gcmSpeedPatch} says so.
 */
import { createSecretKey, KeyObject, randomFillSync } from 'node:crypto';
// A static import, so that the CommonJS bundles (bin/ferry, the app) carry the same module.
import ssh2Crypto from 'ssh2/lib/protocol/crypto.js';

interface GcmCipher {
  _encKey: Buffer | KeyObject;
  allocPacket(payloadLen: number): Buffer;
  encrypt(packet: Buffer): void;
}

interface GcmDecipher {
  _decipherKey: Buffer | KeyObject;
  decrypt(data: Buffer, p: number, dataLen: number): unknown;
}

/** Whether the patch is in force, or why not (ssh2 then runs as shipped). */
export type GcmSpeedPatch = { applied: true } | { applied: false; reason: string };

const GCM = 'aes128-gcm@openssh.com';
const POOL_BYTES = 64 * 1024;
let pool = Buffer.alloc(0);
let poolAt = 0;

/** `n` (at most 255) bytes of CSPRNG output written into `buf` at `at`, from a pooled buffer. */
function fillRandom(buf: Buffer, at: number, n: number): void {
  if (poolAt + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    poolAt = 0;
  }
  pool.copy(buf, at, poolAt, poolAt + n);
  poolAt += n;
}

function apply(): GcmSpeedPatch {
  if (ssh2Crypto.bindingAvailable) return { applied: false, reason: "ssh2's native crypto binding is loaded" };
  const info = ssh2Crypto.CIPHER_INFO[GCM];
  if (!info) return { applied: false, reason: `ssh2 has no ${GCM}` };
  const key = Buffer.alloc(info.keyLen);
  const iv = Buffer.alloc(info.ivLen);
  const cipher = ssh2Crypto.createCipher({
    outbound: { onWrite() {}, cipherInfo: info, cipherKey: key, cipherIV: iv, seqno: 0, forceNative: true },
  }) as Partial<GcmCipher>;
  const decipher = ssh2Crypto.createDecipher({
    inbound: { onPayload() {}, decipherInfo: info, decipherKey: key, decipherIV: iv, seqno: 0, forceNative: true },
  }) as Partial<GcmDecipher>;
  const cipherProto = Object.getPrototypeOf(cipher) as GcmCipher;
  const decipherProto = Object.getPrototypeOf(decipher) as GcmDecipher;
  if (
    !Buffer.isBuffer(cipher._encKey) ||
    !Buffer.isBuffer(decipher._decipherKey) ||
    typeof cipherProto.encrypt !== 'function' ||
    typeof cipherProto.allocPacket !== 'function' ||
    typeof decipherProto.decrypt !== 'function'
  )
    return { applied: false, reason: "ssh2's AES-GCM classes are not the ones this patch was written for" };

  const encrypt = cipherProto.encrypt;
  cipherProto.encrypt = function (this: GcmCipher, packet: Buffer) {
    if (!(this._encKey instanceof KeyObject)) this._encKey = createSecretKey(this._encKey);
    encrypt.call(this, packet);
  };
  // ssh2's allocPacket, with the padding drawn from the pool (RFC 4253 6: at least 4 bytes,
  // packet length a multiple of the 16-byte block, the length field not counted under GCM).
  cipherProto.allocPacket = function (payloadLen: number): Buffer {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 16 - ((pktLen - 4) & 15);
    if (padLen < 4) padLen += 16;
    pktLen += padLen;
    const packet = Buffer.allocUnsafe(pktLen);
    packet.writeUInt32BE(pktLen - 4, 0);
    packet[4] = padLen;
    fillRandom(packet, 5 + payloadLen, padLen);
    return packet;
  };
  const decrypt = decipherProto.decrypt;
  decipherProto.decrypt = function (this: GcmDecipher, data: Buffer, p: number, dataLen: number) {
    if (!(this._decipherKey instanceof KeyObject)) this._decipherKey = createSecretKey(this._decipherKey);
    return decrypt.call(this, data, p, dataLen);
  };
  return { applied: true };
}

/** Applied once, when this module is first imported (ssh/connect.ts imports it). */
export const gcmSpeedPatch: GcmSpeedPatch = apply();
