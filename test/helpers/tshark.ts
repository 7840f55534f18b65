import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frame } from '../../wire/smb2/transport.js';

/**
 * tshark as an independent oracle: wrap SMB2 messages in direct-TCP frames, then in synthetic TCP
 * segments with text2pcap, and read back the fields Wireshark's dissector decodes.
 */
export type TsharkLayers = Record<string, string[]>;

function od(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.byteLength; i += 16) {
    const chunk = Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${i.toString(16).padStart(6, '0')} ${chunk}`);
  }
  return `${lines.join('\n')}\n`;
}

export function tsharkDecode(
  messages: Uint8Array[],
  fields: string[],
  direction: 'toServer' | 'fromServer',
): TsharkLayers[] {
  const dir = mkdtempSync(join(tmpdir(), 'mcc-tshark-'));
  try {
    const text = join(dir, 'in.txt');
    const pcap = join(dir, 'out.pcap');
    writeFileSync(text, messages.map((m) => od(frame(m))).join('\n'));
    const ports = direction === 'toServer' ? '40000,445' : '445,40000';
    execFileSync('text2pcap', ['-q', '-T', ports, '-4', '127.0.0.1,127.0.0.2', text, pcap], {
      stdio: 'pipe',
    });
    const out = execFileSync(
      'tshark',
      [
        '-n',
        '-r',
        pcap,
        '-o',
        'tcp.analyze_sequence_numbers:FALSE',
        '-T',
        'json',
        ...fields.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
    );
    const packets = JSON.parse(out) as { _source: { layers: TsharkLayers } }[];
    return packets.map((p) => p._source.layers);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
