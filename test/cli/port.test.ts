import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/load.js';
import { parsePort, portOption } from '../../src/config/port.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { exitCodeFor } from '../../src/cli/output.js';

/** One port parser for the `--port` flags and the RETRAIN_*_PORT variables (issue 16). */
describe('the port parser', () => {
  it('takes decimal digits 0-65535, around spaces; 0 is a port (any free one, or off)', () => {
    assert.equal(parsePort('8080', '--port'), 8080);
    assert.equal(parsePort(' 80 ', '--port'), 80);
    assert.equal(parsePort('0', '--port'), 0);
    assert.equal(parsePort('65535', '--port'), 65_535);
  });

  it('refuses anything else with one line naming the flag, and exit code 2', () => {
    for (const bad of ['ninety', '', '65536', '-1', '80.5', '0x50', '1e3', '+80', '123456']) {
      assert.throws(() => parsePort(bad, '--port'), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(exitCodeFor(err), { code: 2, message: `--port: expected a port number 0-65535 (got ${JSON.stringify(bad)})` });
        return true;
      });
    }
  });

  it('a flag not given falls back to the setting', () => {
    assert.equal(portOption(undefined, 8092), 8092);
    assert.equal(portOption('9000', 8092), 9000);
  });

  it('a variable is read the same way, and refused in the same words naming it', () => {
    assert.equal(runtimeSettings({ RETRAIN_GATEWAY_PORT: '8181' }).gatewayPort, 8181);
    assert.equal(runtimeSettings({}).gatewayPort, 8080);
    assert.throws(() => runtimeSettings({ RETRAIN_GATEWAY_PORT: '0x50' }), { message: 'environment: RETRAIN_GATEWAY_PORT: expected a port number 0-65535 (got "0x50")' });
  });

  it('workers and CLIs reach the gateway on its port here, or at RETRAIN_GATEWAY_URL on another host', () => {
    assert.equal(runtimeSettings({}).gatewayUrl, 'http://127.0.0.1:8080');
    assert.equal(runtimeSettings({ RETRAIN_GATEWAY_PORT: '8181' }).gatewayUrl, 'http://127.0.0.1:8181');
    assert.equal(runtimeSettings({ RETRAIN_GATEWAY_URL: 'http://gateway:8080/' }).gatewayUrl, 'http://gateway:8080');
    assert.throws(() => runtimeSettings({ RETRAIN_GATEWAY_URL: 'gateway:8080' }), /RETRAIN_GATEWAY_URL/);
  });
});
