import type { Command } from 'commander';
import {
  interfaceInfoPull,
  interfaceInfoPush,
  interfacesFromJson,
  interfaceToJson,
  ioctlResponsePull,
  negotiateRequestPull,
  negotiateRequestToJson,
  protocolMagic,
  readBytesInput,
  stripTransportHeader,
  unwrap,
} from '../../wire/index.js';
import { bytesToHex } from '../../wire/input.js';
import { printJson, readInput, runCommand } from '../io.js';
import { parseJsonInput } from '../json-text.js';

/**
 * Decoders for bytes cut from a capture. Input is raw bytes or hex text; a direct-TCP transport header
 * is stripped when present, and byte offsets in errors count from the start of the input as given.
 */
export function registerWireCommands(program: Command): void {
  const wire = program.command('wire').description('decode and encode SMB2 structures (offline, no daemon)');

  wire
    .command('decode-negotiate')
    .argument(
      '<FILE>',
      'raw bytes or hex text of an SMB2 NEGOTIATE request, with or without the 4-byte transport header; - for stdin',
    )
    .description('print a NEGOTIATE request (ClientGuid, dialects, contexts) as JSON')
    .action((file: string) =>
      runCommand('wire decode-negotiate', async () => {
        const { message, offset } = stripTransportHeader(readBytesInput(await readInput(file)));
        printJson(negotiateRequestToJson(unwrap(negotiateRequestPull(message, offset))));
      }),
    );

  wire
    .command('decode-interfaces')
    .argument(
      '<FILE>',
      'a NETWORK_INTERFACE_INFO buffer, or a whole FSCTL_QUERY_NETWORK_INTERFACE_INFO IOCTL response; - for stdin',
    )
    .description('print the interface list as JSON')
    .action((file: string) =>
      runCommand('wire decode-interfaces', async () => {
        const { message, offset } = stripTransportHeader(readBytesInput(await readInput(file)));
        let blob = message;
        let base = offset;
        if (protocolMagic(message) === 'smb2') {
          const res = unwrap(ioctlResponsePull(message, offset));
          blob = res.output;
          base = offset + (res.outputOffset ?? 0);
        }
        printJson(unwrap(interfaceInfoPull(blob, base)).map(interfaceToJson));
      }),
    );

  wire
    .command('encode-interfaces')
    .argument(
      '<FILE>',
      'JSON interface list as decode-interfaces prints it (an array, or {"interfaces": [...]}); - for stdin',
    )
    .description('encode a JSON interface list as NETWORK_INTERFACE_INFO (hex on stdout, or --raw bytes)')
    .option('--raw', 'write the binary buffer to stdout instead of hex text')
    .action((file: string, options: { raw?: boolean }) =>
      runCommand('wire encode-interfaces', async () => {
        const json = parseJsonInput(Buffer.from(await readInput(file)).toString('utf8'), file);
        const bytes = interfaceInfoPush(interfacesFromJson(json));
        if (options.raw) process.stdout.write(bytes);
        else process.stdout.write(`${bytesToHex(bytes)}\n`);
      }),
    );
}
