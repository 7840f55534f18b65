/**
 * MD4 (RFC 1320). NTLM's NT hash is MD4 of the UTF-16LE password, and Node 20's OpenSSL 3 no longer
 * offers md4 (`createHash('md4')` throws ERR_OSSL_EVP_UNSUPPORTED), so the test client carries its own.
 * Only ever used on short secrets, so it favours clarity over speed.
 */
function rotl(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}

const F = (x: number, y: number, z: number) => (x & y) | (~x & z);
const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z);
const H = (x: number, y: number, z: number) => x ^ y ^ z;

// Per-round word order and shift amounts (RFC 1320 section 3.4).
const R1_SHIFTS = [3, 7, 11, 19];
const R2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const R2_SHIFTS = [3, 5, 9, 13];
const R3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const R3_SHIFTS = [3, 9, 11, 15];

function pad(message: Uint8Array): Uint8Array {
  const bitLength = BigInt(message.byteLength) * 8n;
  const padded = new Uint8Array((((message.byteLength + 8) >> 6) + 1) * 64);
  padded.set(message);
  padded[message.byteLength] = 0x80;
  new DataView(padded.buffer).setBigUint64(padded.byteLength - 8, bitLength & 0xffffffffffffffffn, true);
  return padded;
}

export function md4(message: Uint8Array): Uint8Array {
  const data = pad(message);
  const view = new DataView(data.buffer);
  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const x = new Array<number>(16);
  for (let block = 0; block < data.byteLength; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = view.getUint32(block + 4 * i, true);
    let [a, b, c, d] = state as [number, number, number, number];
    const step = (
      f: (x: number, y: number, z: number) => number,
      k: number,
      s: number,
      add: number,
    ): void => {
      const t = rotl((a + f(b, c, d) + x[k]! + add) >>> 0, s);
      a = d;
      d = c;
      c = b;
      b = t;
    };
    for (let i = 0; i < 16; i++) step(F, i, R1_SHIFTS[i % 4]!, 0);
    for (let i = 0; i < 16; i++) step(G, R2_ORDER[i]!, R2_SHIFTS[i % 4]!, 0x5a827999);
    for (let i = 0; i < 16; i++) step(H, R3_ORDER[i]!, R3_SHIFTS[i % 4]!, 0x6ed9eba1);
    state[0] = (state[0]! + a) >>> 0;
    state[1] = (state[1]! + b) >>> 0;
    state[2] = (state[2]! + c) >>> 0;
    state[3] = (state[3]! + d) >>> 0;
  }
  const out = new Uint8Array(16);
  const outView = new DataView(out.buffer);
  state.forEach((word, i) => {
    outView.setUint32(4 * i, word, true);
  });
  return out;
}
