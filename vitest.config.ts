import { defineConfig } from 'vitest/config';

// Two tiers: `unit` is pure and fast (wire formats, property tests, machines, in-process sockets);
// `peers` drives real programs (tshark, smbd, ctdbd clusters in namespaces, redis-server) and needs the
// packages from scripts/provision-test.sh. Peer tests print a SKIPPED line when a prerequisite is absent.
export default defineConfig({
  test: {
    reporters: ['default'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/property/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'peers',
          include: ['test/peers/**/*.test.ts'],
          // Real clusters and namespaces share host-wide resources: run those files one at a time.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 180_000,
        },
      },
    ],
  },
});
