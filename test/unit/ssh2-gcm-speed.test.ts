/**
 * ssh2-gcm-speed.ts changes how ssh2 builds each AES-GCM packet, not what goes on the wire.
 * Every real-sshd test runs through it too (AES-GCM is what ssh2 and OpenSSH agree on here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import ssh2Crypto from 'ssh2/lib/protocol/crypto.js';
import { gcmSpeedPatch } from '../../main/ssh/ssh2-gcm-speed.ts';

const info = ssh2Crypto.CIPHER_INFO['aes128-gcm@openssh.com']!;

interface Cipher {
  allocPacket(n: number): Buffer;
  encrypt(p: Buffer): void;
}
interface Decipher {
  decrypt(data: Buffer, p: number, len: number): unknown;
}

test('the patch is in force for the ssh2 this checkout installs', () => {
  // A new ssh2 that no longer matches leaves ssh2 as shipped: correct, but slower. This says so.
  assert.deepEqual(gcmSpeedPatch, { applied: true });
});

test('packets from the patched cipher decrypt with plain Node crypto and with ssh2, payloads intact', () => {
  const key = randomBytes(info.keyLen);
  const iv = randomBytes(info.ivLen);
  const wire: Buffer[] = [];
  const cipher = ssh2Crypto.createCipher({
    outbound: {
      onWrite: (b: Buffer) => wire.push(Buffer.from(b)),
      cipherInfo: info,
      cipherKey: Buffer.from(key),
      cipherIV: Buffer.from(iv),
      seqno: 0,
    },
  }) as Cipher;
  const payloads = [0, 1, 11, 12, 13, 100, 4096, 32_000].map((n) => randomBytes(n));
  const packets: Buffer[] = [];
  for (const payload of payloads) {
    const before = wire.length;
    const packet = cipher.allocPacket(payload.length);
    payload.copy(packet, 5);
    const padLen = packet[4]!;
    assert.ok(padLen >= 4 && (packet.length - 4) % 16 === 0, `padding of a ${payload.length}-byte payload`);
    cipher.encrypt(packet);
    packets.push(Buffer.concat(wire.slice(before)));
  }

  // Plain Node crypto, from the raw key: the IV's counter (its last 8 bytes) goes up by one per packet.
  const counterIv = Buffer.from(iv);
  packets.forEach((p, i) => {
    const d = createDecipheriv('aes-128-gcm', key, counterIv);
    d.setAAD(p.subarray(0, 4));
    d.setAuthTag(p.subarray(p.length - 16));
    const plain = Buffer.concat([d.update(p.subarray(4, p.length - 16)), d.final()]);
    const payload = payloads[i]!;
    assert.deepEqual(plain.subarray(1, 1 + payload.length), payload, `packet ${i}`);
    counterIv.writeBigUInt64BE((counterIv.readBigUInt64BE(4) + 1n) & 0xffffffffffffffffn, 4);
  });

  // ssh2's own (patched) decipher, fed the whole stream in uneven pieces.
  const received: Buffer[] = [];
  const decipher = ssh2Crypto.createDecipher({
    inbound: {
      onPayload: (b: Buffer) => void received.push(Buffer.from(b)),
      decipherInfo: info,
      decipherKey: Buffer.from(key),
      decipherIV: Buffer.from(iv),
      seqno: 0,
    },
  }) as Decipher;
  const stream = Buffer.concat(packets);
  for (let at = 0; at < stream.length; at += 777) {
    const piece = stream.subarray(at, Math.min(at + 777, stream.length));
    decipher.decrypt(piece, 0, piece.length);
  }
  assert.deepEqual(received, payloads);
});

test('padding differs from packet to packet (it comes from a CSPRNG pool, not a constant)', () => {
  const cipher = ssh2Crypto.createCipher({
    outbound: {
      onWrite() {},
      cipherInfo: info,
      cipherKey: randomBytes(info.keyLen),
      cipherIV: randomBytes(info.ivLen),
      seqno: 0,
    },
  }) as Cipher;
  const pads = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const p = cipher.allocPacket(12); // 4 + 1 + 12 = 17: 19 bytes of padding make 36
    assert.equal(p.length, 36);
    pads.add(p.subarray(17).toString('hex'));
  }
  assert.equal(pads.size, 64);
});
