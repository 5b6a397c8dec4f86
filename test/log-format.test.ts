// Log format: JSON lines unless a person is reading a terminal, overridable,
// and never a crash where pino-pretty is not installed (npm ci --omit=dev).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, configToEnv, loadConfig } from '../apps/shared/config.ts';
import { pinoPrettyInstalled, wantsPrettyLogs, type LogFormatInputs } from '../apps/shared/log-format.ts';

const base: LogFormatInputs = { format: 'auto', stdoutIsTTY: false, prettyInstalled: () => true };

describe('log format', () => {
  it('auto: pretty only at a terminal outside production', () => {
    assert.equal(wantsPrettyLogs({ ...base, stdoutIsTTY: true }), true);
    assert.equal(wantsPrettyLogs({ ...base, stdoutIsTTY: true, nodeEnv: 'development' }), true);
    assert.equal(wantsPrettyLogs({ ...base, stdoutIsTTY: true, nodeEnv: 'production' }), false);
    assert.equal(wantsPrettyLogs({ ...base, stdoutIsTTY: false }), false, 'piped or collected: JSON');
  });

  it('LOG_FORMAT wins, then LOG_PRETTY', () => {
    assert.equal(wantsPrettyLogs({ ...base, format: 'pretty', nodeEnv: 'production' }), true);
    assert.equal(wantsPrettyLogs({ ...base, format: 'json', stdoutIsTTY: true, pretty: true }), false);
    assert.equal(wantsPrettyLogs({ ...base, pretty: true }), true);
    assert.equal(wantsPrettyLogs({ ...base, pretty: false, stdoutIsTTY: true }), false);
  });

  it('falls back to JSON without pino-pretty', () => {
    const missing = { ...base, prettyInstalled: () => false };
    assert.equal(wantsPrettyLogs({ ...missing, format: 'pretty' }), false);
    assert.equal(wantsPrettyLogs({ ...missing, stdoutIsTTY: true }), false);
  });

  it('is read from the environment and handed to worker children as resolved', () => {
    // The test runner's stdout is not a terminal.
    assert.equal(loadConfig({}).logPretty, false);
    assert.equal(loadConfig({ LOG_FORMAT: 'json', LOG_PRETTY: 'true' }).logPretty, false);
    assert.equal(pinoPrettyInstalled(), true, 'a dev checkout has pino-pretty');
    const pretty = loadConfig({ LOG_FORMAT: 'pretty' });
    assert.equal(pretty.logPretty, true);
    assert.equal(loadConfig(configToEnv(pretty)).logPretty, true);
    assert.equal(loadConfig(configToEnv(loadConfig({ LOG_FORMAT: 'json' }))).logPretty, false);
    assert.throws(() => loadConfig({ LOG_FORMAT: 'xml' }), ConfigError);
    assert.equal(loadConfig({ METRICS_PUBLIC: 'true' }).metricsPublic, true);
    assert.equal(loadConfig({}).metricsPublic, false);
  });
});
