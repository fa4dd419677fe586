// Typed access to scripts/install-temporal-cli.js, which holds the pinned CLI version.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const installer = require('../../scripts/install-temporal-cli.js') as {
  TEMPORAL_CLI_VERSION: string;
  findTemporalCli(): { path: string; source: string } | undefined;
  ensureTemporalCli(): Promise<{ path: string; source: string }>;
  cliVersion(file: string): string;
};

export const { TEMPORAL_CLI_VERSION, findTemporalCli, ensureTemporalCli, cliVersion } = installer;
