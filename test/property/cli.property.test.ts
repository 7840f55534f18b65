import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHostPort, UsageError } from '../../cli/io.js';
import { jsonSyntaxErrorIndex, parseJsonInput } from '../../cli/json-text.js';
import { RUNS } from './arbitraries.js';

describe('JSON text typed by a person', () => {
  it('valid JSON has no syntax error', () => {
    fc.assert(
      fc.property(fc.json(), fc.constantFrom('', ' ', '\n\t'), (text, pad) => {
        expect(jsonSyntaxErrorIndex(pad + text + pad)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with JSON.parse on any text, and points inside it', () => {
    const jsonish = fc.stringMatching(/^[[\]{}",:0-9.eE+\-a-z\\ \n]{0,40}$/);
    fc.assert(
      fc.property(
        fc.oneof(
          jsonish,
          fc.string(),
          fc.json().map((j) => j.slice(0, -1)),
        ),
        (text) => {
          let valid = true;
          try {
            JSON.parse(text);
          } catch {
            valid = false;
          }
          const index = jsonSyntaxErrorIndex(text);
          expect(index === undefined).toBe(valid);
          if (index !== undefined) {
            expect(index).toBeGreaterThanOrEqual(0);
            expect(index).toBeLessThanOrEqual(text.length);
            expect(() => parseJsonInput(text, 'x')).toThrow(UsageError);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a prefix that is cut short is reported at its end', () => {
    fc.assert(
      fc.property(
        fc.json().filter((j) => /^[[{"]/.test(j)),
        (text) => {
          const cut = text.slice(0, -1);
          expect(jsonSyntaxErrorIndex(cut)).toBe(cut.length);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('deep nesting is an error at the depth limit, not a stack overflow', () => {
    expect(jsonSyntaxErrorIndex('['.repeat(100_000))).toBeGreaterThan(0);
  });
});

describe('addresses as people type them', () => {
  it('host, host:port, [v6]:port and bare IPv6 parse; the default port applies only without one', () => {
    expect(parseHostPort('127.0.0.1:4450', '--to', 445)).toEqual({ host: '127.0.0.1', port: 4450 });
    expect(parseHostPort('127.0.0.1', '--to', 445)).toEqual({ host: '127.0.0.1', port: 445 });
    expect(parseHostPort('node1.example', '--to', 445)).toEqual({ host: 'node1.example', port: 445 });
    expect(parseHostPort('[::1]:4450', '--to', 445)).toEqual({ host: '::1', port: 4450 });
    expect(parseHostPort('[fd00::1]', '--to', 445)).toEqual({ host: 'fd00::1', port: 445 });
    expect(parseHostPort('fd00::1', '--to', 445)).toEqual({ host: 'fd00::1', port: 445 });
    expect(() => parseHostPort('127.0.0.1', '--tcp')).toThrow(/a port is needed/);
    expect(() => parseHostPort('127.0.0.1:0', '--to', 445)).toThrow(/1-65535, got "0"/);
    expect(() => parseHostPort('127.0.0.1:99999', '--to', 445)).toThrow(/1-65535/);
    expect(() => parseHostPort('host:port', '--to', 445)).toThrow(/--to: expected HOST/);
  });

  it('any text parses to a port in range or throws a UsageError naming the option', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        try {
          const { host, port } = parseHostPort(text, '--to', 445);
          expect(host.length).toBeGreaterThan(0);
          expect(port >= 1 && port <= 65535).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          expect((error as Error).message).toMatch(/^--to: /);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
