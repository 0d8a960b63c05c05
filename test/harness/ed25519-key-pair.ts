import ssh2 from 'ssh2';

const { utils } = ssh2;

/**
 * A fresh ed25519 key pair (OpenSSH format) that ssh2's own parser accepts, both halves.
 * ssh2 1.17's generator strips leading zero bytes from the public key, so about one pair in
 * 256 is "Malformed OpenSSH public/private key" to its parser (mscdex/ssh2#1513); a test that
 * used such a pair failed at random. Pairs are drawn again until both halves parse.
 */
export function ed25519KeyPair(): { private: string; public: string } {
  for (let i = 0; i < 50; i++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error))
      return pair;
  }
  throw new Error('ssh2 generated 50 ed25519 key pairs in a row that its own parser rejects.');
}
